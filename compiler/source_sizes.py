"""How many rows each source has and how many examples each mix entry offers,
when the data is at hand: for `explain` and the compile-time mix check.

Counting is cheap (a line count, or a parse where `explode` multiplies rows);
rows that would be rejected at run time are still counted here, so these are
upper bounds before filtering.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path


def count_rows(read_params: dict, root: Path) -> int | None:
    """Rows the `read` stage would yield, or None when the file is missing or unreadable."""
    path = root / read_params["path"]
    try:
        if read_params["format"] == "jsonl":
            return _count_jsonl(path, read_params.get("explode"))
        if read_params["format"] == "json":
            return _count_rows(json.loads(path.read_text(encoding="utf-8")), read_params.get("explode"))
        if read_params["format"] in ("csv", "tsv"):
            return _count_csv(path, "\t" if read_params["format"] == "tsv" else ",")
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return None  # parquet: counted by the runtime, which has the optional reader


def _count_jsonl(path: Path, explode: str | None) -> int:
    count = 0
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            if explode is None:
                count += 1
            else:
                count += _exploded(line, explode)
    return count


def _exploded(line: str, field: str) -> int:
    try:
        value = json.loads(line).get(field)
    except (ValueError, AttributeError):
        return 0
    return len(value) if isinstance(value, list) else 0


def _count_rows(data, explode: str | None) -> int:
    if not isinstance(data, list):
        return 0
    if explode is None:
        return len(data)
    return sum(len(r.get(explode)) for r in data if isinstance(r, dict) and isinstance(r.get(explode), list))


def _count_csv(path: Path, delimiter: str) -> int:
    with path.open(encoding="utf-8", newline="") as handle:
        return max(0, sum(1 for _ in csv.reader(handle, delimiter=delimiter)) - 1)


def entry_sizes(plan: dict, root: Path) -> dict[str, int | None]:
    """Examples each render/expand stage offers, keyed by stage id."""
    sizes: dict[str, int | None] = {}
    for stage in plan["stages"]:
        if stage["op"] == "read":
            sizes[stage["id"]] = count_rows(stage["params"], root)
        elif stage["op"] in ("render", "expand"):
            rows = sizes.get(stage["inputs"][0])
            sizes[stage["id"]] = None if rows is None else rows * _per_row(stage)
    return sizes


def _per_row(stage: dict) -> int:
    params = stage["params"]
    if stage["op"] == "expand":
        return params["variants"]
    if params["choose"] == "each":
        return len(params["instruction"]) * max(1, len(params["input"])) * len(params["output"])
    return 1
