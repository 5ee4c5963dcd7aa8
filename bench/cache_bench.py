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

    .venv/bin/python bench/cache_bench.py [--rows 1000000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import shutil
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
        started = time.perf_counter()
        manifest, _ = run_plan(plan, RunSettings(root=folder, run_dir=folder / name,
                                                 cache_dir=cache if cached else None))
        return time.perf_counter() - started, manifest

    plain, _ = run(70, 30, "plain", False)  # first: it also takes the first-run costs (page cache)
    cold, _ = run(50, 50, "cold", True)
    warm, manifest = run(70, 30, "warm", True)
    same = (folder / "warm" / "train.jsonl").read_bytes() == (folder / "plain" / "train.jsonl").read_bytes()
    reused = [s["id"] for s in manifest["stages"] if s.get("cache") == "reused"]
    print(f"{args.rows:,} rows in two sources; cache in {cache}")
    print(f"| run | seconds |\n|---|---:|\n| 70/30 without the cache | {plain:.2f} |\n"
          f"| cold, 50/50, cache empty | {cold:.2f} |\n| 70/30 after it, from the cache | {warm:.2f} |")
    print(f"\nreused: {', '.join(reused)}")
    print(f"warm / cold: {warm / cold:.3f} (target < 0.10); same bytes as without the cache: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
