"""Memory and speed of the exact-dedup key set: Python sets versus KeySet.

For N random 16-byte keys (xxh3_128 digests look like that), all distinct,
measures each of:

- ``set[bytes]``: the keys as 16-byte ``bytes`` objects in a Python set;
- ``set[int]``: the keys as ``int.from_bytes(key, "big")`` in a Python set;
- ``KeySet``: `recipekit.runtime.keyset.KeySet.add_batch`, batches given as
  lists of ``bytes`` (and, for speed, as one buffer of concatenated keys).

Memory, with the keys made on the fly from one buffer so that the structure
holds the only reference to what it keeps (as in a dedup stage, where each key
is a fresh digest):

- *held*: ``tracemalloc`` current memory after the inserts, less before,
  per key (numpy reports its arrays to tracemalloc);
- *peak*: ``tracemalloc`` peak during the inserts, per key (a set resizing its
  table, KeySet merging two runs);
- *RSS*: the growth of the peak resident set size (``ru_maxrss``) over the
  resident size before the inserts, untraced.

Speed: keys/s for inserting N keys made beforehand, answering "was it new?"
for each (``[k not in s and not s.add(k) for k in keys]`` for the sets); for
``set[int]`` the conversion from bytes is included, since the keys come as
digests. The median of --repeat runs.

Every measurement runs in a fresh interpreter (``sys.executable``) so that
one does not inherit another's freed memory.

    python bench/keyset_memory.py [--keys 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

STRUCTURES = ["set[bytes]", "set[int]", "KeySet"]
BATCHES = [1024, 8192, 65536]


def _keys_buffer(n: int) -> bytes:
    return np.random.default_rng(20240611).bytes(16 * n)


def _rss_now() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_rss() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def _fill(structure: str, buf: bytes, batch: int):
    """Insert the keys of buf, each made on the fly; returns the structure."""
    n16 = len(buf)
    if structure == "set[bytes]":
        s: set = set()
        add = s.add
        for i in range(0, n16, 16):
            add(buf[i : i + 16])
        return s
    if structure == "set[int]":
        s = set()
        add = s.add
        from_bytes = int.from_bytes
        for i in range(0, n16, 16):
            add(from_bytes(buf[i : i + 16], "big"))
        return s
    from recipekit.runtime.keyset import KeySet

    ks = KeySet()
    step = 16 * batch
    for start in range(0, n16, step):
        ks.add_batch([buf[i : i + 16] for i in range(start, min(start + step, n16), 16)])
    return ks


def measure_memory(structure: str, n: int, batch: int, traced: bool) -> dict:
    buf = _keys_buffer(n)
    if structure == "KeySet":
        import recipekit.runtime.keyset  # noqa: F401  (imports are not the set's memory)
    gc.collect()
    if traced:
        import tracemalloc

        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        kept = _fill(structure, buf, batch)
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert len(kept) == n
        return {"held": (current - before) / n, "peak": (peak - before) / n}
    rss_before = _rss_now()
    start = time.perf_counter()
    kept = _fill(structure, buf, batch)
    seconds = time.perf_counter() - start
    assert len(kept) == n
    result = {"rss_growth": _peak_rss() - rss_before, "fill_seconds": seconds}
    if structure == "KeySet":
        result["nbytes"] = kept.nbytes / n
    return result


def measure_speed(structure: str, n: int, batch: int, repeat: int, as_buffer: bool) -> dict:
    buf = _keys_buffer(n)
    keys = [buf[i : i + 16] for i in range(0, len(buf), 16)]
    times = []
    for _ in range(repeat):
        gc.collect()
        if structure == "set[bytes]":
            start = time.perf_counter()
            s: set = set()
            add = s.add
            answers = [k not in s and not add(k) for k in keys]
        elif structure == "set[int]":
            start = time.perf_counter()
            s = set()
            add = s.add
            from_bytes = int.from_bytes
            answers = []
            for k in keys:
                x = from_bytes(k, "big")
                answers.append(x not in s and not add(x))
        else:
            from recipekit.runtime.keyset import KeySet

            view = memoryview(buf)
            start = time.perf_counter()
            ks = KeySet()
            answers = []
            if as_buffer:
                for i in range(0, n, batch):
                    answers += ks.add_batch(view[16 * i : 16 * (i + batch)])
            else:
                for i in range(0, n, batch):
                    answers += ks.add_batch(keys[i : i + batch])
        times.append(time.perf_counter() - start)
        assert sum(answers) == n
        del answers
        s = ks = None  # type: ignore[assignment]
    return {"keys_per_s": n / statistics.median(times)}


def _child(args: argparse.Namespace) -> int:
    kind, structure = args.child
    if kind == "speed":
        result = measure_speed(structure, args.keys, args.batch, args.repeat, args.buffer)
    else:
        result = measure_memory(structure, args.keys, args.batch, traced=kind == "trace")
    print(json.dumps(result))
    return 0


def _run(kind: str, structure: str, args: argparse.Namespace, batch: int = 8192, buffer: bool = False) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--child", kind, structure,
           "--keys", str(args.keys), "--repeat", str(args.repeat), "--batch", str(batch)]
    if buffer:
        cmd.append("--buffer")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch", type=int, default=8192, help=argparse.SUPPRESS)
    parser.add_argument("--buffer", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(args)

    n = args.keys
    print(f"{n:,} random distinct 16-byte keys; Python {sys.version.split()[0]}, numpy {np.__version__}, "
          f"{os.cpu_count()} CPUs\n")
    print("| structure | held B/key | peak B/key | peak RSS growth | keys/s |")
    print("|---|---:|---:|---:|---:|")
    for structure in STRUCTURES:
        traced = _run("trace", structure, args)
        rss = _run("rss", structure, args)
        if structure == "KeySet":
            speeds = [(f"lists of {b:,} keys", _run("speed", structure, args, batch=b)) for b in BATCHES]
            speeds.insert(0, speeds.pop(1))  # 8,192: the batch size of the memory figures
            speeds.append(("buffers of 8,192 keys", _run("speed", structure, args, buffer=True)))
        else:
            speeds = [("", _run("speed", structure, args))]
        for i, (how, speed) in enumerate(speeds):
            name = structure + (f", {how}" if how else "")
            if i == 0:
                print(f"| {name} | {traced['held']:.1f} | {traced['peak']:.1f} | "
                      f"{rss['rss_growth'] / 1e6:.1f} MB | {speed['keys_per_s'] / 1e6:.2f} M |")
            else:
                print(f"| {name} | | | | {speed['keys_per_s'] / 1e6:.2f} M |")
        if structure == "KeySet":
            print(f"| (KeySet.nbytes: {rss['nbytes']:.1f} B/key) | | | | |")
    print("\nheld/peak: tracemalloc, keys made on the fly; keys/s: keys made beforehand, "
          f"median of {args.repeat}; KeySet's memory is measured with lists of 8,192 keys.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
