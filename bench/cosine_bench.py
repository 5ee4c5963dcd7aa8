"""Near-duplicate removal by embeddings (`dedup near ... cosine`) on real rows.

The rows are alpaca-libre's instructions (../shared/corpora/alpaca-libre, v1
then v2 then v3: 5,860 parseable rows, 37% of them labelled "too
similar" upstream by ROUGE-L > 0.7), `--rows` of them in file order; with
`--text all` the embedded text is instruction + input + output (longer
texts, up to the model's 256 word pieces). recipekit's `dedup.near` stage
runs on them in a fresh process, batches of `--batch` rows as the engine
feeds it. Reported: the model load, the stage's wall and CPU seconds, rows/s,
peak RSS, and the rows flagged at the threshold.

    .venv/bin/python bench/cosine_bench.py [--rows 2000] [--text instruction|all] [--threshold 0.9]

Needs `pip install 'recipekit[embed]'`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fresh_process import in_fresh_process  # bench/, beside this script

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "alpaca-libre"

_BODY = """
import json, resource, sys, time
rows = []
for name in ("alpaca_libre_tasks_v1.jsonl", "alpaca_libre_tasks_v2.jsonl", "alpaca_libre_tasks_v3.jsonl"):
    for line in open({corpora!r} + "/" + name, encoding="utf-8"):
        try:
            rows.append(json.loads(line))
        except ValueError:
            pass  # v2's 14 malformed lines
rows = rows[:{rows}]
if {all_text}:
    texts = ["\\n".join(str(r.get(k) or "") for k in ("instruction", "input", "output")) for r in rows]
else:
    texts = [r["instruction"] for r in rows]
started = time.perf_counter()
from recipekit.runtime.cosine_dedup import CosineDedup
from recipekit.runtime.records import Provenance
stage = {{"id": "dedup.near:m/f/0", "params": {{"fields": ["instruction"], "metric": "cosine",
         "threshold": {threshold}, "ngram": 3, "unit": "words", "model": "all-MiniLM-L6-v2-int8"}}}}
dedup = CosineDedup(stage)
loaded = time.perf_counter()
cpu = time.process_time()
flagged = []
for at in range(0, len(texts), {batch}):
    batch = [{{"instruction": t, "input": "", "output": "", "_key": i, "_entry": "e", "_prov": Provenance("s", i, 0)}}
             for i, t in enumerate(texts[at:at + {batch}], at)]
    rejects = []
    dedup.process(batch, rejects)
    flagged += [r.row for r in rejects]
done = time.perf_counter()
too_similar = [r.get("status") == "too similar" for r in rows]
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"rows": len(texts), "load": loaded - started, "seconds": done - loaded,
                  "cpu": time.process_time() - cpu, "peak_mb": peak_mb,
                  "flagged": len(flagged), "flagged_too_similar": sum(too_similar[i] for i in flagged),
                  "too_similar": sum(too_similar)}}))
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--text", choices=("instruction", "all"), default="instruction")
    ap.add_argument("--threshold", type=float, default=0.9)
    ap.add_argument("--batch", type=int, default=4096)
    args = ap.parse_args(argv)
    if not CORPORA.is_dir():
        raise SystemExit(f"needs {CORPORA}")
    code = _BODY.format(corpora=str(CORPORA), rows=args.rows, all_text=args.text == "all",
                        threshold=args.threshold, batch=args.batch)
    m = in_fresh_process(code)
    print(f"{m['rows']:,} rows ({args.text}), cosine >= {args.threshold}, batches of {args.batch}")
    print(f"model load {m['load']:.2f} s; stage {m['seconds']:.2f} s wall, {m['cpu']:.2f} s CPU: "
          f"{m['rows'] / m['seconds']:,.0f} rows/s ({m['rows'] / m['cpu']:,.0f} per CPU-second); "
          f"peak RSS {m['peak_mb']:.0f} MB")
    print(f"flagged {m['flagged']:,} rows, {m['flagged_too_similar']:,} of them labelled 'too similar' "
          f"upstream (ROUGE-L > 0.7; {m['too_similar']:,} such rows in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
