"""The 1M-row benchmark recipe on the Ray engine next to the local engine.

The rows and the recipe are run_bench.py's (bench/gen_rows.py: ~10% exact
duplicates, ~5% case/whitespace variants, ~5% near duplicates; a template, a
length filter and exact dedup on (instruction, input, output) normalized lower
+ whitespace, the whole mix written as alpaca JSONL). Each engine runs in its
own fresh process, one after the other:

- `local`: `run_plan(plan, settings)`;
- `ray`: `ray.init(num_cpus=WORKERS)` (a local cluster: that many worker
  processes), then `run_plan(plan, settings, engine="ray")` twice: the first
  run on fresh workers (each imports recipekit, numpy, pyarrow), the second
  on warm ones. The cluster's start is timed apart; rows/s counts a run alone.

Reports seconds, rows/s and the driver's peak RSS, and whether the
outputs and rejects.jsonl are the same bytes (their xxh3_128 in the
manifests). Usage:

    .venv/bin/python bench/ray_bench.py [--rows 1000000] [--workers 2] [--batch-size 4096] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from fresh_process import in_fresh_process  # noqa: E402
from run_bench import RECIPE  # noqa: E402  (the same recipe as the local benchmark)

_MEASURE = """
import json, logging, resource, time
from pathlib import Path
from recipekit.compiler.compile import compile_file
from recipekit.runtime.engine import RunSettings
from recipekit.runtime.run import run_plan
plan = compile_file({recipe!r}).plan
settings = RunSettings(root=Path({folder!r}), run_dir=Path({run!r}), batch_size={batch})
startup = 0.0
if {engine!r} == "ray":
    import ray
    start = time.perf_counter()
    ray.init(address="local", num_cpus={workers}, include_dashboard=False, log_to_driver=False,
             logging_level=logging.ERROR)
    startup = time.perf_counter() - start
start = time.perf_counter()
manifest, _ = run_plan(plan, settings, {engine!r})
seconds = time.perf_counter() - start
again = None
if {engine!r} == "ray":  # the workers have imported recipekit and numpy now: a second run
    start = time.perf_counter()
    run_plan(plan, RunSettings(root=Path({folder!r}), run_dir=Path({run!r} + "-again"), batch_size={batch}), "ray")
    again = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"seconds": seconds, "again": again, "startup": startup, "peak_mb": peak, "manifest": manifest}}))
"""


def measure(engine: str, recipe: Path, folder: Path, workers: int, batch: int) -> dict:
    code = _MEASURE.format(recipe=str(recipe), folder=str(folder), run=str(folder / f"run-{engine}"),
                           engine=engine, workers=workers, batch=batch)
    return in_fresh_process(code, quiet_warnings=True)


def fingerprint(manifest: dict) -> list[str]:
    return [o["xxh3_128"] for o in manifest["outputs"]] + [manifest["rejects"]["xxh3_128"]]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--workers", type=int, default=2, help="CPUs of the local Ray cluster (default 2)")
    ap.add_argument("--batch-size", type=int, default=4096, help="rows a block (default 4096)")
    ap.add_argument("--keep", metavar="DIR", help="work in DIR and keep the files")
    args = ap.parse_args(argv)
    folder = Path(args.keep or tempfile.mkdtemp(prefix="recipekit-ray-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    rows = folder / "rows.jsonl"
    from gen_rows import write_rows

    started = time.perf_counter()
    write_rows(args.rows, rows)
    print(f"generated {args.rows:,} rows ({rows.stat().st_size:,} bytes) in {time.perf_counter() - started:.1f} s; "
          f"{os.cpu_count()} CPUs on this machine")
    recipe = folder / "bench.recipe"
    recipe.write_text(RECIPE)

    local = measure("local", recipe, folder, args.workers, args.batch_size)
    ray = measure("ray", recipe, folder, args.workers, args.batch_size)
    print(f"\n| {'engine':<32} | {'seconds':>8} | {'rows/s':>9} | {'driver peak RSS MB':>18} |")
    print(f"|{'-' * 34}|{'-' * 10}|{'-' * 11}|{'-' * 20}|")
    rows = [("local", local["seconds"], local["peak_mb"]),
            (f"ray, {args.workers} workers, first run", ray["seconds"], ray["peak_mb"]),
            (f"ray, {args.workers} workers, second run", ray["again"], ray["peak_mb"])]
    for name, seconds, peak in rows:
        print(f"| {name:<32} | {seconds:>8.2f} | {args.rows / seconds:>9,.0f} | {peak:>18.0f} |")
    same = fingerprint(local["manifest"]) == fingerprint(ray["manifest"])
    print(f"\nray / local rows/s: {local['seconds'] / ray['seconds']:.2f} (first run), "
          f"{local['seconds'] / ray['again']:.2f} (second run); the local Ray cluster started in "
          f"{ray['startup']:.1f} s (not counted); outputs and rejects.jsonl byte-identical: {'yes' if same else 'NO'}; "
          f"kept {local['manifest']['outputs'][0]['rows']:,} of {args.rows:,}")
    print("\nper stage, seconds (ray: summed over the workers):")
    for mine, theirs in zip(local["manifest"]["stages"], ray["manifest"]["stages"]):
        print(f"  {mine['id']:<44} {mine['seconds']:>7.2f} {theirs['seconds']:>7.2f}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
