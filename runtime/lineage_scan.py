"""One pass over a run's rejects and one over its outputs, keeping what a batch of
`why` queries needs (runtime/lineage.py): the records of the wanted ids, the
rejects of the wanted source rows, every dedup cluster, and for an exact
duplicate the example that was kept in its place.

Rejects come in plan order (runtime/stats.py), so by the time a later stage's
rejects or the outputs are read, every exact-duplicate key asked about is
known, and the one example past that stage with the same key is the kept one.
"""

from __future__ import annotations

from collections import defaultdict
from typing import NamedTuple

import attrs

from .example_text import texts_of
from .processors import ExactDedup
from .run_files import MixView, RunFiles


class OutputHit(NamedTuple):
    write: str
    path: str
    line: int
    record: dict


@attrs.define
class Scan:
    outputs: dict = attrs.field(factory=lambda: defaultdict(list))  # id -> [OutputHit]
    rejects: dict = attrs.field(factory=lambda: defaultdict(list))  # id -> [(line, reject)]
    row_rejects: dict = attrs.field(factory=lambda: defaultdict(list))  # (source, row) -> [(line, reject)]
    rows: dict = attrs.field(factory=dict)  # (mix id, id) -> (source, row, part, entry) or None
    texts: dict = attrs.field(factory=dict)  # id -> texts recorded by a reject
    paraphrase: dict = attrs.field(factory=dict)  # id -> rewrite rules, where recorded
    near: dict = attrs.field(factory=lambda: defaultdict(list))  # (stage, kept id) -> [(id, similarity)]
    exact: dict = attrs.field(factory=lambda: defaultdict(list))  # (stage, key) -> [(id, None)]
    exact_kept: dict = attrs.field(factory=dict)  # (stage, key) -> the kept example's id


class _KeptFinder:
    """The example kept in place of each exact duplicate asked about."""

    def __init__(self, scan: Scan) -> None:
        self.scan = scan
        self.wanted: dict[str, dict] = defaultdict(dict)  # mix id -> {stage id: (ExactDedup, {keys})}

    def want(self, mix: MixView, stage_id: str, key: str) -> None:
        stage = next(s for s in mix.chain if s["id"] == stage_id)
        dedup, keys = self.wanted[mix.id].setdefault(stage_id, (ExactDedup(stage), set()))
        keys.add(key)

    def offer(self, mix: MixView, example_id: str, texts: dict, after: str | None) -> None:
        """An example of `mix` that got past stage `after`'s position (None: past every stage)."""
        stages = self.wanted.get(mix.id)
        if not stages:
            return
        order = [s["id"] for s in mix.chain]
        for stage_id, (dedup, keys) in stages.items():
            if after is not None and (after not in order or order.index(stage_id) >= order.index(after)):
                continue
            key = dedup.key(texts).hex()
            if key in keys:
                self.scan.exact_kept.setdefault((stage_id, key), example_id)


def scan_run(run: RunFiles, mix_of: dict, wanted: set[str], wanted_rows: set[tuple]) -> Scan:
    scan = Scan()
    kept = _KeptFinder(scan)
    for line, reject in run.rejects():
        _reject(scan, kept, mix_of, line, reject, wanted, wanted_rows)
    for output in run.outputs():
        mix = mix_of[output["stage"]]
        for line, record in run.output_rows(output):
            _output(scan, kept, mix, output, line, record, wanted)
    return scan


def _reject(scan: Scan, kept: _KeptFinder, mix_of: dict, line: int, reject: dict, wanted: set, rows: set) -> None:
    example = reject.get("example")
    stage = reject["stage"]
    example_id = example["id"] if example else reject["value"] if reject["rule"] == "unsampled" else None
    mix = mix_of.get(stage)
    if example is not None and reject["rule"] in ("near-duplicate", "duplicate"):
        _cluster(scan, reject, example["id"])
    if example is not None and mix is not None:
        kept.offer(mix, example["id"], example, stage)
    if example_id is None:
        if (reject.get("source"), reject.get("row")) in rows:
            scan.row_rejects[(reject["source"], reject["row"])].append((line, reject))
        return
    if example_id not in wanted:
        return
    scan.rejects[example_id].append((line, reject))
    if example is not None:
        scan.texts.setdefault(example_id, {k: example[k] for k in ("instruction", "input", "output")}
                              | {"split": "fields"})
        if "parent" in example:
            scan.paraphrase[example_id] = example["paraphrase"]
        if reject["rule"] == "duplicate" and mix is not None:
            kept.want(mix, stage, reject["value"])
    if mix is not None:
        entry = example["entry"] if example else None
        scan.rows[(mix.id, example_id)] = (reject["source"], reject["row"], reject.get("part") or 0, entry)


def _cluster(scan: Scan, reject: dict, example_id: str) -> None:
    if reject["rule"] == "near-duplicate":
        value = reject["value"]
        scan.near[(reject["stage"], value["kept"])].append((example_id, value["similarity"]))
    else:
        scan.exact[(reject["stage"], reject["value"])].append((example_id, None))


def _output(scan: Scan, kept: _KeptFinder, mix: MixView, output: dict, line: int, record: dict, wanted: set) -> None:
    example_id = record["id"].split("-", 1)[0]
    if kept.wanted.get(mix.id):
        kept.offer(mix, example_id, texts_of(record), None)
    if example_id not in wanted:
        return
    scan.outputs[example_id].append(OutputHit(output["stage"], output["path"], line, record))
    prov = record.get("provenance") or {}
    if "paraphrase" in prov and prov.get("parent") is not None:
        scan.paraphrase[example_id] = prov["paraphrase"]
    if (mix.id, example_id) not in scan.rows or scan.rows[(mix.id, example_id)] is None:
        scan.rows[(mix.id, example_id)] = _hint(prov)


def _hint(prov: dict) -> tuple | None:
    """(source, row, part, entry) from an output's provenance, when it says the row."""
    if "row" not in prov:
        return None
    return prov.get("source"), prov["row"], prov.get("part", 0), prov.get("template")
