"""The manifest: proof of how a dataset was made.

It records the recipe and plan hashes, the tool version, the seed, every
input and output file (path, xxh3_128, bytes, rows), per-stage counts and
drops by reason, the solved mixes, and an accounting of every row: read,
rejected, unsampled or written. specs/manifest.schema.json describes it.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter
import json
from importlib import metadata, resources
from pathlib import Path

import xxhash
from jsonschema import Draft202012Validator

from .diversity import summary as diversity_summary
from .embeddings import model_records
from .plan_graph import filter_chain
from .scorers import plugin_versions

MANIFEST_VERSION = "1.0"


def tool_version() -> str:
    try:
        return metadata.version("recipekit")
    except metadata.PackageNotFoundError:
        return "0.0.0+unknown"


def file_facts(path: Path, lines: bool = False) -> dict:
    """xxh3_128 and bytes of a file, read in chunks; and its lines, when asked."""
    digest, size, count = xxhash.xxh3_128(), 0, 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
            size += len(chunk)
            if lines:
                count += chunk.count(b"\n")
    return {"xxh3_128": digest.hexdigest(), "bytes": size, **({"lines": count} if lines else {})}


def build_manifest(plan: dict, plan_hash: str, result, settings, started: dt.datetime,
                   engine: str = "local") -> dict:
    stats = {s.id: s for s in result.stats}
    stages = {s["id"]: s for s in plan["stages"]}
    inputs = [_input(s, stats[s["id"]], settings.root, getattr(result, "input_facts", {}))
              for s in plan["stages"] if s["op"] == "read"]
    outputs = [_output(o) for o in result.outputs]
    rejects = result.rejects_file  # hashed as it was written
    return {
        "manifest_version": MANIFEST_VERSION,
        "tool": {"name": "recipekit", "version": tool_version()},
        "engine": engine,
        "recipe": plan["recipe"],
        "plan": {"path": "plan.json", "xxh3_128": plan_hash},
        "seed": plan["seed"],
        "root": str(settings.root.resolve()),
        "settings": {"batch_size": settings.batch_size, "limit": settings.limit,
                     "allowed_scorers": list(settings.allowed_scorers), "workers": result.workers,
                     "parallel_entries": result.parallel_entries},
        "plugins": plugin_versions(settings.allowed_scorers),
        "models": model_records(plan),
        "inputs": inputs,
        "outputs": outputs,
        "rejects": {"path": "rejects.jsonl", "xxh3_128": rejects["xxh3_128"], "bytes": rejects["bytes"],
                    "rows": rejects["lines"]},
        "stages": [s.to_json() for s in result.stats],
        "mixes": [_mix(stages[stage_id], a, *result.diversity.get(stage_id, (Counter(), {}, {})))
                  for stage_id, a in result.allocations.items()],
        "accounting": accounting(plan, stats),
        "costs": costs(plan, stats, result.used_rows),
        "agreement": result.agreement,
        "started_at": started.isoformat(timespec="seconds"),
        "seconds": round(result.seconds, 6),
    }


def _input(stage: dict, stats, root: Path, known: dict) -> dict:
    facts = known.get(stage["params"]["path"]) or file_facts(root / stage["params"]["path"])
    return {"stage": stage["id"], "path": stage["params"]["path"], "xxh3_128": facts["xxh3_128"],
            "bytes": facts["bytes"], "rows": stats.rows_in}


def _output(output: dict) -> dict:
    facts = output["facts"]  # hashed as it was written
    return {"stage": output["stage"], "path": output["path"], "xxh3_128": facts["xxh3_128"],
            "bytes": facts["bytes"], "rows": output["rows"]}


def _mix(stage: dict, allocation, verbs: Counter, short: dict, categories: dict) -> dict:
    return {"stage": stage["id"], "size": allocation.size,
            "diversity": diversity_summary(verbs, stage["params"], short, categories),
            "entries": [{"name": e.name, "available": e.available, "taken": e.target,
                         "epochs": round(e.epochs, 6) if e.available else None} for e in allocation.entries]}


def costs(plan: dict, stats: dict, used_rows: dict) -> list[dict]:
    """What each source with a declared `cost` took to make: rows × minutes × rate, for
    all the rows read and for the rows the dataset uses."""
    report = []
    for stage in plan["stages"]:
        cost = stage["params"].get("cost") if stage["op"] == "read" else None
        if cost is None:
            continue
        source = stage["id"].split(":", 1)[1]
        per_row = (cost["minutes_per_example"] or 0) / 60 * (cost["usd_per_hour"] or 0)
        read, used = stats[stage["id"]].rows_in, len(used_rows.get(source, ()))
        report.append({"source": source, "usd_per_hour": cost["usd_per_hour"],
                       "minutes_per_example": cost["minutes_per_example"], "rows_read": read, "rows_used": used,
                       "usd_read": round(read * per_row, 2), "usd_used": round(used * per_row, 2)})
    return report


def accounting(plan: dict, stats: dict) -> dict:
    """Where every row went, per mix: examples that reached it were rejected by
    a filter, left unsampled or selected (`in = rejected + unsampled + selected`)."""
    stages = {s["id"]: s for s in plan["stages"]}
    mixes = []
    for mix in (s for s in plan["stages"] if s["op"] == "mix"):
        union, chain = filter_chain(stages, mix)
        mix_stats = stats[mix["id"]]
        unsampled = mix_stats.dropped.get("unsampled", 0)
        mixes.append({
            "mix": mix["id"],
            "examples_in": stats[union["id"]].rows_in,
            "rejected": sum(sum(stats[s["id"]].dropped.values()) for s in chain),
            "unsampled": unsampled,
            "selected": mix_stats.rows_in - unsampled,
            "written": mix_stats.rows_out,
        })
    reads = [stats[s["id"]] for s in plan["stages"] if s["op"] == "read"]
    return {
        "records_read": sum(s.rows_in for s in reads),
        "rejected_at_read": sum(sum(s.dropped.values()) for s in reads),
        "mixes": mixes,
    }


@functools.lru_cache(maxsize=None)
def manifest_validator() -> Draft202012Validator:
    text = resources.files("recipekit.specs").joinpath("manifest.schema.json").read_text(encoding="utf-8")
    return Draft202012Validator(json.loads(text))


def manifest_errors(manifest: dict) -> list[str]:
    return [f"{e.json_path}: {e.message}" for e in manifest_validator().iter_errors(manifest)]
