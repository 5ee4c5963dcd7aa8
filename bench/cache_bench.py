"""The stage cache: a cold run of the 1M-row recipe, then a run after changing only the mix ratio.

The recipe is bench/run_bench.py's (a pass-through template, a length filter,
exact dedup with lower + whitespace) with the rows split over two sources, so
that the mix has a ratio to change: `a = 50%`, `b = 50%`, then `a = 70%`,
`b = 30%`. Both runs use one fresh cache directory, in one process. The second
run reuses every stage up to the mix (read, render, filter, dedup) and runs
selection and writing again. The target (issue 7) is under 10% of the cold
run's time. A run without the cache, of the changed recipe, made first (so
that it, not the cold run, pays for files not yet in the page cache), checks
that the reused run wrote the same bytes and shows what writing the cache
costs the cold run.

Each timed run starts after `os.sync()`, so that the previous run's dirty
pages are not written back during it (a rerun minutes later does not pay for
them either), and the pair is repeated `--repeat` times from an empty cache;
the medians are reported, as single runs on a small VM vary by 20-30%.

    .venv/bin/python bench/cache_bench.py [--rows 1000000] [--repeat 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

RECIPE = """\
recipe cache_bench {{
  seed = 1
}}

source a {{
  from = "a.jsonl"
  schema {{
    instruction: str
    input: str
    output: str
  }}
}}

source b {{
  from = "b.jsonl"
  schema {{
    instruction: str
    input: str
    output: str
  }}
}}

template copy_a on a {{
  instruction = "{{instruction}}"
  input = "{{input}}"
  output = "{{output}}"
}}

template copy_b on b {{
  instruction = "{{instruction}}"
  input = "{{input}}"
  output = "{{output}}"
}}

filter clean {{
  length output chars 1..20000
  dedup exact on (instruction, input, output) normalize (lower, whitespace)
}}

mix train {{
  filter = clean
  on_short = shrink
  copy_a = {a}%
  copy_b = {b}%
}}

output train {{
  to = "train.jsonl"
}}
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--keep", metavar="DIR", help="work in DIR and keep the files")
    ap.add_argument("--repeat", type=int, default=3, help="rounds of cold and warm runs (medians reported)")
    args = ap.parse_args(argv)
    folder = Path(args.keep or tempfile.mkdtemp(prefix="recipekit-cache-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(HERE))
    from gen_rows import write_rows

    from recipekit.compiler.compile import compile_file
    from recipekit.runtime.engine import RunSettings
    from recipekit.runtime.run import run_plan

    rows = folder / "rows.jsonl"
    write_rows(args.rows, rows)
    lines = rows.read_bytes().splitlines(keepends=True)
    half = len(lines) // 2
    (folder / "a.jsonl").write_bytes(b"".join(lines[:half]))
    (folder / "b.jsonl").write_bytes(b"".join(lines[half:]))
    del lines
    cache = folder / "cache"
    shutil.rmtree(cache, ignore_errors=True)

    def run(a: int, b: int, name: str, cached: bool) -> tuple[float, dict]:
        recipe = folder / f"{name}.recipe"
        recipe.write_text(RECIPE.format(a=a, b=b))
        plan = compile_file(str(recipe)).plan
        os.sync()  # the previous run's files reach the disk first: their writeback is not billed to this run
        started = time.perf_counter()
        manifest, _ = run_plan(plan, RunSettings(root=folder, run_dir=folder / name,
                                                 cache_dir=cache if cached else None))
        return time.perf_counter() - started, manifest

    plain, _ = run(70, 30, "plain", False)  # first: it also takes the first-run costs (page cache)
    colds, warms, same = [], [], True
    for _ in range(args.repeat):  # each round from an empty cache
        shutil.rmtree(cache, ignore_errors=True)
        for name in ("cold", "warm"):
            shutil.rmtree(folder / name, ignore_errors=True)
        colds.append(run(50, 50, "cold", True)[0])
        seconds, manifest = run(70, 30, "warm", True)
        warms.append(seconds)
        same = same and (folder / "warm" / "train.jsonl").read_bytes() == (folder / "plain" / "train.jsonl").read_bytes()
    cold, warm = statistics.median(colds), statistics.median(warms)
    reused = [s["id"] for s in manifest["stages"] if s.get("cache") == "reused"]
    print(f"{args.rows:,} rows in two sources; cache in {cache}; median of {args.repeat} rounds")
    print(f"| run | seconds |\n|---|---:|\n| 70/30 without the cache | {plain:.2f} |\n"
          f"| cold, 50/50, cache empty | {cold:.2f} ({', '.join(f'{c:.2f}' for c in colds)}) |\n"
          f"| 70/30 after it, from the cache | {warm:.2f} ({', '.join(f'{w:.2f}' for w in warms)}) |")
    print(f"\nreused: {', '.join(reused)}")
    print(f"warm / cold: {warm / cold:.3f} (target < 0.10); same bytes as without the cache: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
