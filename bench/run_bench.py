"""recipekit's runtime end to end on N synthetic rows, next to the minimal loop.

Generates N instruction rows (bench/gen_rows.py: ~10% exact duplicates, ~5%
case/whitespace variants, ~5% near duplicates), then runs, each in its own
fresh process so that peak RSS is each one's own:

- the minimal loop (bench/minimal_loop.py): orjson parse, lower + whitespace
  normalize, xxh3_128, a Python set, write the kept rows;
- `recipekit run` of a recipe with a template, a length filter and exact dedup
  on (instruction, input, output) normalized lower + whitespace, the whole
  mix written as alpaca JSONL: with the default worker processes (one per
  CPU), then with `--workers 1` (everything in one process).

Reports rows/s, the ratio to the loop, and peak RSS of both; the targets
(issue 4) are at least 50% of the loop's rows/s and under 300 MB. Usage:

    .venv/bin/python bench/run_bench.py [--rows 1000000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from fresh_process import in_fresh_process  # bench/, beside this script

HERE = Path(__file__).resolve().parent

RECIPE = """\
recipe bench {
  seed = 1
}

source rows {
  from = "rows.jsonl"
  schema {
    instruction: str
    input: str
    output: str
  }
}

template copy on rows {
  instruction = "{instruction}"
  input = "{input}"
  output = "{output}"
}

filter clean {
  length output chars 1..20000
  dedup exact on (instruction, input, output) normalize (lower, whitespace)
}

mix train {
  filter = clean
  copy = 100%
}

output train {
  to = "train.jsonl"
}
"""

_MEASURE = """
import json, resource, sys, time
sys.path.insert(0, {here!r})
start = time.perf_counter()
{body}
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest worker's
print(json.dumps({{"seconds": seconds, "peak_mb": peak, "worker_peak_mb": workers, "kept": kept}}))
"""

_LOOP = """
from minimal_loop import minimal_loop
kept = minimal_loop({rows!r}, {out!r})["kept"]
"""

_RUN = """
from pathlib import Path
from recipekit.compiler.compile import compile_file
from recipekit.runtime.engine import RunSettings
from recipekit.runtime.run import run_plan
plan = compile_file({recipe!r}).plan
manifest, _ = run_plan(plan, RunSettings(root=Path({folder!r}), run_dir=Path({run!r}), workers={workers!r}))
kept = manifest["outputs"][0]["rows"]
"""


def measure(body: str) -> dict:
    return in_fresh_process(_MEASURE.format(here=str(HERE), body=body))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--keep", metavar="DIR", help="work in DIR and keep the files")
    args = ap.parse_args(argv)
    folder = Path(args.keep or tempfile.mkdtemp(prefix="recipekit-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    rows = folder / "rows.jsonl"
    sys.path.insert(0, str(HERE))
    from gen_rows import write_rows

    started = time.perf_counter()
    facts = write_rows(args.rows, rows)
    print(f"generated {args.rows:,} rows ({facts.get('bytes', rows.stat().st_size):,} bytes) "
          f"in {time.perf_counter() - started:.1f} s")
    (folder / "bench.recipe").write_text(RECIPE)

    loop = measure(_LOOP.format(rows=str(rows), out=str(folder / "loop.jsonl")))
    run = measure(_RUN.format(recipe=str(folder / "bench.recipe"), folder=str(folder), run=str(folder / "run"),
                              workers=None))
    single = measure(_RUN.format(recipe=str(folder / "bench.recipe"), folder=str(folder),
                                 run=str(folder / "run1"), workers=1))
    if loop["kept"] != run["kept"] or single["kept"] != run["kept"]:
        print(f"warning: the loop kept {loop['kept']:,} rows, recipekit {run['kept']:,} and {single['kept']:,}")
    print(f"\n| {'':<28} | {'seconds':>8} | {'rows/s':>9} | {'peak RSS MB':>11} |")
    print(f"|{'-' * 30}|{'-' * 10}|{'-' * 11}|{'-' * 13}|")
    for name, m in (("minimal loop", loop), ("recipekit run", run), ("recipekit run --workers 1", single)):
        print(f"| {name:<28} | {m['seconds']:>8.2f} | {args.rows / m['seconds']:>9,.0f} | {m['peak_mb']:>11.0f} |")
    print(f"\nrecipekit / loop rows/s: {loop['seconds'] / run['seconds']:.2f} (target >= 0.50); "
          f"kept {run['kept']:,} of {args.rows:,}")
    print(f"with --workers 1 (one process): {loop['seconds'] / single['seconds']:.2f}")
    if run["worker_peak_mb"]:
        print(f"recipekit's worker processes: the largest peaked at {run['worker_peak_mb']:.0f} MB RSS "
              f"(pages shared with the main process since the fork count in both)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
