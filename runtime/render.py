"""The `render` stage: source rows become examples through a template.

Templates arrive pre-parsed in the plan as segments (literal strings and
`{"field", "optional", "formatters"}`), so rendering is string joining — no
parsing, no evaluation. A field with a verbalizer renders its word ("positive"
for 1). `choose = random` picks one instruction and one output phrasing per row
by keyed hash; `choose = each` emits every pair.
"""

from __future__ import annotations

import heapq
from typing import Callable, Iterable, Iterator

from xxhash import xxh3_64_intdigest

from .keyed import identity_key, keyed, pick, stage_seed
from .records import IDENTITY, Provenance, Reject, SourceRow

_FORMATTERS: dict[str, Callable[[str], str]] = {"lower": str.lower, "upper": str.upper, "trim": str.strip}


class MissingLabel(Exception):
    """A value with no verbalizer: the row is rejected, the run goes on."""

    def __init__(self, field: str, value) -> None:
        super().__init__(field, value)
        self.field = field
        self.value = value


def compile_segments(segments: list, labels: dict[str, dict]) -> Callable[[dict], str]:
    """One function that renders a phrasing from a row's fields (hot path: keep it lean)."""
    parts = [s if isinstance(s, str) else _placeholder(s, labels.get(s["field"])) for s in segments]
    if not parts:
        return lambda fields: ""
    if all(isinstance(p, str) for p in parts):
        text = "".join(parts)
        return lambda fields: text
    if len(parts) == 1:
        return parts[0]
    return lambda fields: "".join([p if p.__class__ is str else p(fields) for p in parts])


def _placeholder(segment: dict, verbalizer: dict | None) -> Callable[[dict], str]:
    name = segment["field"]
    formatters = [_FORMATTERS[f] for f in segment["formatters"]]
    if verbalizer is None and not formatters:
        def plain(fields: dict) -> str:
            value = fields[name]
            if value.__class__ is str:
                return value
            return "" if value is None else _plain(value)
        return plain

    def render(fields: dict) -> str:
        value = fields.get(name)
        if value is None:
            return ""
        if verbalizer is not None:
            key = _label_key(value)
            if key not in verbalizer:
                raise MissingLabel(name, value)
            text = verbalizer[key]
        else:
            text = value if isinstance(value, str) else _plain(value)
        for formatter in formatters:
            text = formatter(text)
        return text

    return render


def _label_key(value) -> tuple:
    # 1 and True must not be the same label; neither must 1 and "1"
    return (type(value).__name__, value)


def _plain(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Renderer:
    """Renders the rows of one source through one template stage."""

    def __init__(self, stage: dict, entry: str, seed: int) -> None:
        params = stage["params"]
        self.stage_id = stage["id"]
        self.entry = entry
        self.template = self.stage_id.split(":", 1)[1]
        self.seed = seed
        labels = {field: {_label_key(k): text for k, text in pairs} for field, pairs in params["labels"].items()}
        self.instructions = [compile_segments(s, labels) for s in params["instruction"]]
        self.inputs = [compile_segments(s, labels) for s in params["input"]] or [lambda fields: ""]
        self.outputs = [compile_segments(s, labels) for s in params["output"]]
        self.each = params["choose"] == "each"
        self.fewshot = params["fewshot"]
        self.salts = [stage_seed(seed, self.stage_id + part) for part in ("", "#input", "#output")]
        self.single = len(self.instructions) == len(self.inputs) == len(self.outputs) == 1
        self.carry = params.get("carry") or []
        self.pool: list[SourceRow] = []

    def needs_pool(self) -> bool:
        return self.fewshot is not None

    def set_pool(self, rows: Iterable[SourceRow]) -> None:
        """Exemplar candidates: the rows with the smallest keyed hashes (a seeded sample)."""
        size = max(16, 4 * self.fewshot["count"])
        salt = self.stage_id + "#pool"
        self.pool = heapq.nsmallest(size, rows, key=lambda r: (keyed(self.seed, salt, r.id.key()), r.id.key()))

    def _shots(self, key: str, k: int, j: int) -> str:
        """`count` exemplars for this row (never itself), rendered with the row's phrasing."""
        salt = f"{self.stage_id}#shots|{key}"
        ranked = sorted((r for r in self.pool if r.id.key() != key), key=lambda r: keyed(self.seed, salt, r.id.key()))
        blocks = []
        for row in ranked[: self.fewshot["count"]]:
            blocks.append(self.inputs[k](row.fields) + "\n" + self.outputs[j](row.fields))
        return self.fewshot["separator"].join(blocks)

    def phrasings(self, row_key: str) -> list[tuple[int, int, int]]:
        """(instruction, input, output) phrasing indices: every triple, or one picked by keyed hash."""
        if self.single:
            return _ONLY
        if self.each:
            return [(i, k, j) for i in range(len(self.instructions)) for k in range(len(self.inputs))
                    for j in range(len(self.outputs))]
        key = identity_key(row_key)
        sizes = (len(self.instructions), len(self.inputs), len(self.outputs))
        i, k, j = (pick(salt, key, n) for salt, n in zip(self.salts, sizes))
        return [(i, k, j)]

    def render(self, rows: list[SourceRow], rejects: list[Reject]) -> list[dict]:
        out = []
        simple = self.single and self.fewshot is None
        for row in rows:
            try:
                if simple:  # the common case, without a generator per row
                    out.append(self._render_one(row))
                else:
                    out.extend(list(self._render_row(row)))  # all pairs or none
            except MissingLabel as missing:
                rejects.append(Reject(
                    self.stage_id, "labels", f"`{missing.field}` = {missing.value!r} has no verbalizer",
                    missing.value, row.id.source, row.id.row, row.id.part, line=row.line))
        return out

    def _render_one(self, row: SourceRow) -> dict:
        """`_render_row` for a template with one phrasing of each part and no exemplars."""
        rid, fields = row.id, row.fields
        example = {
            "instruction": self.instructions[0](fields),
            "input": self.inputs[0](fields),
            "output": self.outputs[0](fields),
            "_key": xxh3_64_intdigest(IDENTITY.pack(rid.row, rid.part, 0, 0, 0), self.salts[0]),
            "_entry": self.entry,
            "_prov": Provenance(rid.source, rid.row, rid.part, self.template, _ONLY[0]),
        }
        if self.carry:
            example["_carry"] = {f: fields.get(f) for f in self.carry}
        return example

    def _render_row(self, row: SourceRow) -> Iterator[dict]:
        rid = row.id
        key = rid.key()
        fields = row.fields
        for i, k, j in self.phrasings(key):
            text_input = self.inputs[k](fields)
            if self.fewshot is not None:
                shots = self._shots(key, k, j)
                text_input = shots + self.fewshot["separator"] + text_input if shots else text_input
            yield {
                "instruction": self.instructions[i](fields),
                "input": text_input,
                "output": self.outputs[j](fields),
                # identity within this stage (which reads one source): row, part, phrasings
                "_key": xxh3_64_intdigest(IDENTITY.pack(rid.row, rid.part, i, k, j), self.salts[0]),
                "_entry": self.entry,
                "_prov": Provenance(rid.source, rid.row, rid.part, self.template, (i, k, j)),
                **({"_carry": {f: fields.get(f) for f in self.carry}} if self.carry else {}),
            }


_ONLY = [(0, 0, 0)]
