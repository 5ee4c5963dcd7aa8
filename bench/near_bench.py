"""Near-duplicate removal on N synthetic rows: recipekit's MinHash stage next to
datasketch's MinHashLSH, on the same rows, in the same run.

Rows come from bench/gen_rows.py, which plants exact duplicates, case and
whitespace variants (both Jaccard 1 after lower-casing) and near duplicates
(one word changed). Both sides see the same text (instruction, input and
output), the same word 3-gram shingles, 128 permutations and threshold 0.8,
and process rows in order, keeping a row unless it is near an earlier kept
one. Each runs in its own process (peak RSS is its own). Reported: rows/s,
peak RSS and the share of planted duplicates each one flags (recall by kind).
recipekit decides candidates by exact Jaccard; datasketch by LSH alone.

    .venv/bin/python bench/near_bench.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from fresh_process import in_fresh_process  # bench/, beside this script

HERE = Path(__file__).resolve().parent

_COMMON = """
import json, resource, sys, time
sys.path.insert(0, {here!r})
from recipekit.runtime.near_dedup import shingles
rows = [json.loads(line) for line in open({rows!r}, encoding="utf-8")]
texts = ["\\n".join((r["instruction"], r["input"], r["output"])) for r in rows]
start = time.perf_counter()
{body}
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"seconds": seconds, "peak_mb": peak, "flagged": sorted(flagged)}}))
"""

_RECIPEKIT = """
from recipekit.compiler.minhash_params import optimal_bands
from recipekit.runtime.near_dedup import NearDedup
from recipekit.runtime.records import Provenance
bands, per_band = optimal_bands(0.8, 128)
stage = {"id": "dedup.near:m/f/0", "params": {"fields": ["instruction"], "metric": "jaccard", "threshold": 0.8,
         "num_perm": 128, "bands": bands, "rows": per_band, "ngram": 3, "unit": "words"}}
dedup = NearDedup(stage, seed=1)
flagged = set()
for start_at in range(0, len(texts), 4096):
    batch = [{"instruction": t, "_key": i, "_entry": "e", "input": "", "output": "",
              "_prov": Provenance("s", i, 0)} for i, t in enumerate(texts[start_at:start_at + 4096], start_at)]
    rejects = []
    dedup.process(batch, rejects)
    flagged.update(r.row for r in rejects)
"""

_DATASKETCH = """
from datasketch import MinHash, MinHashLSH
lsh = MinHashLSH(threshold=0.8, num_perm=128)
flagged = set()
for i, text in enumerate(texts):
    m = MinHash(num_perm=128, seed=1)
    m.update_batch([s.encode() for s in shingles(text, 3, "words")])
    if lsh.query(m):
        flagged.add(i)
    else:
        lsh.insert(str(i), m)
"""


def measure(body: str, rows: Path) -> dict:
    return in_fresh_process(_COMMON.format(here=str(HERE), rows=str(rows), body=body))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=100_000)
    args = ap.parse_args(argv)
    sys.path.insert(0, str(HERE))
    from gen_rows import RowGenerator

    folder = Path(tempfile.mkdtemp(prefix="recipekit-near-"))
    rows, kinds = folder / "rows.jsonl", []
    with rows.open("wb") as out:
        for kind, line in RowGenerator(0).lines(args.rows):
            kinds.append(kind)
            out.write(line)
    results = {"recipekit": measure(_RECIPEKIT, rows), "datasketch": measure(_DATASKETCH, rows)}
    planted = {k: [i for i, kind in enumerate(kinds) if kind == k] for k in ("exact", "variant", "near")}
    print(f"{args.rows:,} rows; planted: " + ", ".join(f"{k} {len(v):,}" for k, v in planted.items()))
    print(f"\n| {'':<12} | {'seconds':>8} | {'rows/s':>8} | {'peak MB':>7} | {'flagged':>8} | "
          f"{'exact':>6} | {'variant':>7} | {'near':>6} |")
    print(f"|{'-' * 14}|{'-' * 10}|{'-' * 10}|{'-' * 9}|{'-' * 10}|{'-' * 8}|{'-' * 9}|{'-' * 8}|")
    for name, m in results.items():
        flagged = set(m["flagged"])
        recall = {k: sum(i in flagged for i in v) / max(1, len(v)) for k, v in planted.items()}
        print(f"| {name:<12} | {m['seconds']:>8.2f} | {args.rows / m['seconds']:>8,.0f} | {m['peak_mb']:>7.0f} | "
              f"{len(flagged):>8,} | {recall['exact']:>6.3f} | {recall['variant']:>7.3f} | {recall['near']:>6.3f} |")
    ratio = results["datasketch"]["seconds"] / results["recipekit"]["seconds"]
    print(f"\nrecipekit rows/s / datasketch rows/s: {ratio:.2f} (target >= 1.5)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
