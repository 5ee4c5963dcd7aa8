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

import struct
from typing import Any, NamedTuple

import attrs


# An example's identity within its stage, hashed with the stage's seed to its key.
IDENTITY = struct.Struct("<qqiii")  # row, part, and three phrasing or variant indices


class Provenance(NamedTuple):
    """Where an example came from (a tuple: cheap to make for every example)."""

    source: str
    row: int
    part: int
    template: str | None = None  # the template that rendered it
    phrasing: tuple | None = None  # (instruction, input, output) phrasing indices
    paraphrase: list | None = None  # rewrite rules applied by an expansion
    parent: str | None = None  # the seed an expansion came from


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
        # hot when many rows are dropped: read the slots directly, no attrs.asdict
        return {name: value for name in _REJECT_FIELDS if (value := getattr(self, name)) is not None}


_REJECT_FIELDS = tuple(field.name for field in attrs.fields(Reject))


def reject_for(stage_id: str, example: dict, rule: str, reason: str, value: Any = None) -> Reject:
    """A reject for an example (after render): its identity, and its text for review."""
    prov = example["_prov"]
    return Reject(stage_id, rule, reason, value, prov.source, prov.row, prov.part, example=quote(example))


def quote(example: dict) -> dict:
    """An example as a reject shows it: its id, entry and text."""
    prov = example["_prov"]
    public = {"id": format(example["_key"], "016x"), "entry": example["_entry"], "instruction": example["instruction"],
              "input": example["input"], "output": example["output"]}
    if prov.parent is not None:  # an expansion's variant: the rewrites are not in the text, say them
        public["paraphrase"], public["parent"] = prov.paraphrase, prov.parent
    return public
