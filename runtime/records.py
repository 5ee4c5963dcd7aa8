"""The records that flow between runtime stages.

A source row is a plain dict of its declared fields (typed, optional fields
None when missing), tagged with its identity: the source name, `row` (the
0-based position of the physical record: the line of a JSONL file, the element
of a JSON array, the data row of a CSV) and `part` (the element index when the
source explodes a list field; 0 otherwise). Identity, not arrival order, is
what every keyed hash and every tie-break uses.

Anything that leaves the pipeline early is a `Reject`: which stage dropped it,
by which rule, why in words, the offending value, and where it came from.
"""

from __future__ import annotations

from typing import Any

import attrs


@attrs.frozen(slots=True)
class RowId:
    source: str
    row: int
    part: int = 0

    def key(self) -> str:
        """A stable text form, the input to keyed hashes: `source/row/part`."""
        return f"{self.source}/{self.row}/{self.part}"


@attrs.define(slots=True)
class SourceRow:
    id: RowId
    fields: dict[str, Any]
    line: int | None = None  # 1-based line in the input file, when it has lines


@attrs.frozen(slots=True)
class Reject:
    stage: str  # stage id, e.g. "read:sst2" or "dedup.exact:train/clean/2"
    rule: str  # what was checked, e.g. "json", "schema", "length", "duplicate"
    reason: str  # in words: "line 2279: invalid JSON: unexpected character"
    value: Any = None  # the offending value, when there is one
    source: str | None = None
    row: int | None = None
    part: int | None = None
    file: str | None = None
    line: int | None = None
    example: dict | None = None  # the rendered example, for stages after render

    def to_json(self) -> dict:
        data = attrs.asdict(self, recurse=False)
        return {k: v for k, v in data.items() if v is not None}


def reject_for(stage_id: str, example: dict, rule: str, reason: str, value: Any = None) -> Reject:
    """A reject for an example (after render): its identity, and its text for review."""
    prov = example["_prov"]
    public = {"id": format(example["_key"], "016x"), "entry": example["_entry"], "instruction": example["instruction"],
              "input": example["input"], "output": example["output"]}
    return Reject(stage_id, rule, reason, value, prov["source"], prov["row"], prov["part"], example=public)
