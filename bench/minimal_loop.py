"""The baseline for exact dedup: the minimal loop of anchors/performance.md.

orjson parse -> normalize (lower + whitespace collapse of instruction + input +
output) -> xxh3_128 -> set insert -> write the kept rows with orjson (binary).
Nothing else: no rejects file, no manifest, no per-stage counts, no provenance.
It is the floor recipekit's engine is measured against: other benchmarks
import `minimal_loop` and run it in the same process as the engine, on the same
file, and report the ratio.

Its key is the one the anchors measured: the three fields joined with a space,
then lowercased and whitespace-collapsed as one string. recipekit's key
(`recipekit.runtime.normalize.dedup_key`) normalizes each field separately and
keeps the field boundaries, so ("a b", "c") and ("a", "b c") are duplicates
here and not there; on generated rows (bench/gen_rows.py) both keep the same
rows.

    python bench/minimal_loop.py IN.jsonl [OUT.jsonl] [--repeat 3]

prints rows, kept, seconds, rows/s and the peak RSS of the process
(`resource.getrusage`, which includes the interpreter and imports; with
--repeat above 1 it is the peak over all the runs, which heap fragmentation
makes higher than one run's: take the peak from a run with --repeat 1).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time

import orjson
from xxhash import xxh3_128_digest


def minimal_loop(in_path: str | os.PathLike, out_path: str | os.PathLike) -> dict:
    """Dedup in_path into out_path; returns {"rows", "kept", "seconds"}."""
    start = time.perf_counter()
    loads = orjson.loads
    dumps = orjson.dumps
    newline = orjson.OPT_APPEND_NEWLINE
    digest = xxh3_128_digest
    seen: set[bytes] = set()
    add = seen.add
    rows = kept = 0
    with open(in_path, "rb") as src, open(out_path, "wb") as dst:
        write = dst.write
        for line in src:
            row = loads(line)
            rows += 1
            text = row["instruction"] + " " + (row.get("input") or "") + " " + row["output"]
            key = digest(" ".join(text.lower().split()).encode())
            if key in seen:
                continue
            add(key)
            write(dumps(row, option=newline))
            kept += 1
    return {"rows": rows, "kept": kept, "seconds": time.perf_counter() - start}


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (MiB on Linux)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input", help="JSONL rows {instruction, input, output}")
    parser.add_argument("output", nargs="?", help="where the kept rows go (default: a temporary file)")
    parser.add_argument("--repeat", type=int, default=1, help="runs in this process; the median is printed")
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        out = args.output or os.path.join(tmp, "kept.jsonl")
        for _ in range(max(1, args.repeat)):
            results.append(minimal_loop(args.input, out))
    seconds = statistics.median(r["seconds"] for r in results)
    r = results[0]
    print(
        f"minimal loop: {r['rows']:,} rows, {r['kept']:,} kept, {seconds:.2f} s "
        f"(median of {len(results)}), {r['rows'] / seconds:,.0f} rows/s, "
        f"peak RSS {peak_rss_mb():.0f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
