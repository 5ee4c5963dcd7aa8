"""`recipekit why`: the lineage of an example or a rejected row, from a run directory.

A query is an example id (16 hex digits: an output's `id`, a reject's
`example.id` or an unsampled reject's `value`; a repeat's `-N` is ignored) or
a source row, `SOURCE/ROW[/PART]` (what read rejects have). The answer follows
the example through the plan: the source row, the template and phrasing or
the expansion (rules, parent), each filter of each mix it reached with the
value measured and the threshold (re-evaluated on a kept example; for a
reject, the rule that dropped it and the ones it passed before), the mix's
draw, the output lines, and its dedup clusters. An example made by a stage
that two mixes share has one answer per mix.

It reads only the run directory; a batch of queries costs one pass over
rejects.jsonl and one over the outputs (runtime/identity.py derives what an
output written without provenance does not say).
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from .decisions import Decision, Rechecker
from .errors import RunError
from .example_text import literal, texts_of
from .identity import EntryKeys, Identity, at_row, search
from .lineage_scan import Scan, scan_run
from .run_files import MixView, RunFiles
from .stage_labels import phrasing_text, stage_label

_ID = re.compile(r"^([0-9a-f]{16})(?:-\d+)?$")
_ROW = re.compile(r"^([^/\s]+)/(\d+)(?:/(\d+))?$")
QUERY_HINT = ("give an example id (16 hex digits, the `id` of an output row or the `example.id` of a reject) "
              "or a source row as SOURCE/ROW[/PART], e.g. `reviews/12`; ids are in the outputs and rejects.jsonl")


def parse_query(text: str) -> tuple[str | None, tuple | None]:
    """(example id, None) or (None, (source, row, part or None))."""
    text = text.strip()
    if found := _ID.match(text.lower()):
        return found.group(1), None
    if found := _ROW.match(text):
        return None, (found.group(1), int(found.group(2)), None if found.group(3) is None else int(found.group(3)))
    raise RunError(f"`{text}` is neither an example id nor a source row", hint=QUERY_HINT)


class NotFound(RunError):
    """A query that names nothing in the run directory."""


class Why:
    def __init__(self, run_dir: Path) -> None:
        self.run = RunFiles(run_dir)
        self.seed = self.run.plan["seed"]
        self.mix_of = {}  # chain, mix and write stage ids -> their mix
        for mix in self.run.mixes:
            for stage in [*mix.chain, mix.stage, *mix.writes]:
                self.mix_of[stage["id"]] = mix
        self.keys = {}  # entry stage id -> EntryKeys
        for mix in self.run.mixes:
            for entry in mix.entries:
                rows = self.run.stats[entry.read["id"]]["rows_in"]
                self.keys.setdefault(entry.stage["id"], EntryKeys(entry, self.seed, rows))
        self.rechecker = Rechecker(tuple(self.run.manifest["settings"].get("allowed_scorers", ())))
        self._identities: dict = {}  # (mix id, example id) -> Identity, for the queries being answered

    def answer(self, texts: list[str]) -> dict[str, list[dict]]:
        """Each query's matches (JSON-ready); a query that matches nothing is a RunError."""
        queries = {text: parse_query(text) for text in texts}
        wanted_rows = {q[1][:2] for q in queries.values() if q[1] is not None}
        derived = {text: self._ids_at(row) for text, (_, row) in queries.items() if row is not None}
        wanted = {i for i, _ in queries.values() if i} | {i for ids in derived.values() for i in ids}
        scan = scan_run(self.run, self.mix_of, wanted, wanted_rows)
        self._identities = self._derive(scan)
        answers = {}
        for text, (example_id, row) in queries.items():
            ids = [example_id] if example_id else sorted(derived[text])
            matches = [m for i in ids for m in self._lineages(i, scan)]
            if row is not None:
                matches = [*self._row_rejects(row, scan), *matches]
            if not matches:
                raise NotFound(f"no output row or reject in {self.run.run_dir} is `{text}`", hint=QUERY_HINT)
            answers[text] = matches
        return answers

    def _ids_at(self, row: tuple) -> dict[str, Identity]:
        return {format(k, "016x"): v for k, v in at_row(list(self.keys.values()), *row).items()}

    # -- identities ------------------------------------------------------------

    def _derive(self, scan: Scan) -> dict[tuple[str, str], Identity]:
        """(mix id, example id) -> its identity: from the recorded row where there is one,
        else by searching the mix's entries (runtime/identity.py)."""
        found, unknown = {}, defaultdict(set)
        for (mix_id, example_id), hint in scan.rows.items():
            identity = self._at_hint(mix_id, example_id, hint) if hint else None
            if identity is None:
                unknown[mix_id].add(int(example_id, 16))
            else:
                found[(mix_id, example_id)] = identity
        for mix_id, ids in unknown.items():
            keys = [self.keys[e.stage["id"]] for e in self.mix_of[mix_id].entries]
            for key, identity in search(keys, ids).items():
                found[(mix_id, format(key, "016x"))] = identity
        return found

    def _at_hint(self, mix_id: str, example_id: str, hint: tuple) -> Identity | None:
        source, row, part, entry = hint
        key = int(example_id, 16)
        for e in self.mix_of[mix_id].entries:
            if source in (None, e.source) and entry in (None, e.name):
                found = at_row([self.keys[e.stage["id"]]], e.source, row, part).get(key)
                if found is not None:
                    return found
        return None

    # -- one answer per (example, mix) ------------------------------------------

    def _lineages(self, example_id: str, scan: Scan) -> list[dict]:
        mixes = [m for m in self.run.mixes if (m.id, example_id) in scan.rows]
        return [self._lineage(example_id, mix, scan) for mix in mixes]

    def _lineage(self, example_id: str, mix: MixView, scan: Scan) -> dict:
        identity = self._identities.get((mix.id, example_id))
        example = scan.texts.get(example_id) or self._output_texts(example_id, mix, identity, scan)
        rejects = {r["stage"]: r for _, r in scan.rejects.get(example_id, ()) if r["stage"] in self.mix_of
                   and self.mix_of[r["stage"]] is mix}
        written = [hit for hit in scan.outputs.get(example_id, ()) if self.mix_of[hit.write] is mix]
        steps = self._source_steps(identity, example_id, scan) + self._chain_steps(mix, example, rejects)
        steps += self._mix_steps(mix, identity, rejects, written)
        dropped = next((s for s in steps if s.verdict == "drop"), None)
        clusters = self._clusters(example_id, steps, scan)
        return {
            "id": example_id, "mix": mix.id,
            "status": "written" if written else "rejected",
            "rejected_at": None if dropped is None else dropped.stage,
            "identity": self._identity_json(identity, example_id, scan),
            "example": example,
            "steps": [s.to_json() for s in steps],
            "written_to": [{"path": h.path, "line": h.line, "id": h.record["id"]} for h in written],
            "clusters": clusters,
        }

    def _output_texts(self, example_id: str, mix: MixView, identity: Identity | None, scan: Scan) -> dict | None:
        hits = [h for h in scan.outputs.get(example_id, ()) if self.mix_of[h.write] is mix] \
            or scan.outputs.get(example_id, [])
        if not hits:
            return None
        instruction = input_text = None
        if identity is not None and self.run.stages[identity.stage]["op"] == "render":
            params, (i, k, _) = self.run.stages[identity.stage]["params"], identity.indices
            instruction = literal(params["instruction"][i])
            input_text = literal(params["input"][k]) if params["input"] else ""
        texts = [texts_of(h.record, instruction, input_text) for h in hits]
        return min(texts, key=lambda t: _SPLIT_RANK[t["split"]])  # the surest split of any output

    def _identity_json(self, identity: Identity | None, example_id: str, scan: Scan) -> dict | None:
        if identity is None:
            return None
        read = self.keys[identity.stage].entry.read
        stage = self.run.stages[identity.stage]
        out = {"source": identity.source, "row": identity.row, "part": identity.part, "entry": identity.entry,
               "stage": identity.stage, "file": read["params"]["path"], "template": None, "phrasing": None,
               "variant": None, "paraphrase": None, "parent": None}
        if stage["op"] == "render":
            out["template"] = identity.entry
            out["phrasing"] = list(identity.indices)
        else:
            out["variant"] = identity.indices[0]
            out["parent"] = identity.key()
            out["paraphrase"] = scan.paraphrase.get(example_id)
        return out

    def _source_steps(self, identity: Identity | None, example_id: str, scan: Scan) -> list[Decision]:
        """The read and the template or expansion that made the example."""
        if identity is None:
            return []
        entry = self.keys[identity.stage].entry
        where = f"row {identity.row}" + (f", part {identity.part}" if entry.read["params"].get("explode") else "")
        read = Decision(entry.read["id"], "read", f"read {entry.source}", "pass", where,
                        note=f"file {entry.read['params']['path']}")
        stage = entry.stage
        if stage["op"] == "render":
            params, (i, k, j) = stage["params"], identity.indices
            texts = [phrasing_text(params[part][n]) if params[part] else "" for part, n in
                     (("instruction", i), ("input", k), ("output", j))]
            made = Decision(stage["id"], "render", stage_label(stage), "pass", [i, k, j],
                            note="phrasings: " + " | ".join(repr(t) for t in texts) + f" (choose = {params['choose']})")
        else:
            rules = scan.paraphrase.get(example_id)
            made = Decision(stage["id"], "expand", f"expand {entry.name}", "pass", identity.indices[0],
                            note=f"variant {identity.indices[0]} of seed {identity.key()}"
                                 + (f"; rules applied: {', '.join(rules)}" if rules else
                                    "" if rules is not None else "; rules applied: not recorded"))
        return [read, made]

    def _chain_steps(self, mix: MixView, example: dict | None, rejects: dict) -> list[Decision]:
        """The mix's filters up to the one that dropped the example: re-evaluated where the text is known."""
        steps = []
        for stage in mix.chain:
            reject = rejects.get(stage["id"])
            if reject is not None:
                steps.append(_dropped(stage, reject))
                return steps
            if example is None:
                steps.append(Decision(stage["id"], stage["op"], stage_label(stage), "pass",
                                      note="not re-evaluated: the run recorded no text for this example"))
            else:
                steps.append(self.rechecker.recheck(stage, example))
        return steps

    def _mix_steps(self, mix: MixView, identity: Identity | None, rejects: dict, written: list) -> list[Decision]:
        """The draw (or `unsampled`), then each output line the example was written to."""
        if any(s["id"] in rejects for s in mix.chain):
            return []
        label = f"mix {mix.name}"
        entry = self._mix_entry(mix, identity)
        unsampled = rejects.get(mix.id)
        if unsampled is not None:
            return [_dropped(mix.stage, unsampled, label)]
        value = None if entry is None else \
            f"entry `{entry['name']}`: {entry['taken']:,} taken of {entry['available']:,} available"
        steps = [Decision(mix.id, "mix", label, "pass", value, note="drawn: among the smallest keyed hashes")]
        for hit in written:
            write = self.run.stages[hit.write]
            repeat = "-" in hit.record["id"]
            steps.append(Decision(hit.write, "write", stage_label(write), "pass", f"line {hit.line}",
                                  note=f"a repeat (upsampled) with id {hit.record['id']}" if repeat else None))
        return steps

    def _mix_entry(self, mix: MixView, identity: Identity | None) -> dict | None:
        stats = next((m for m in self.run.manifest.get("mixes", []) if m["stage"] == mix.id), None)
        if stats is None or identity is None:
            return None
        return next((e for e in stats["entries"] if e["name"] == identity.entry), None)

    def _clusters(self, example_id: str, steps: list[Decision], scan: Scan) -> list[dict]:
        """Each dedup stage's group: its kept example and the rejects that name it (or share
        its key); a passed stage is listed only when something was dropped in its favour."""
        clusters = []
        for step in steps:
            if step.op == "dedup.near":
                kept = step.value["kept"] if step.verdict == "drop" else example_id
                members = scan.near.get((step.stage, kept), [])
            elif step.op == "dedup.exact" and step.value is not None:
                kept = scan.exact_kept.get((step.stage, step.value)) if step.verdict == "drop" else example_id
                members = scan.exact.get((step.stage, step.value), [])
            else:
                continue
            if step.verdict == "pass" and not members:
                continue
            if step.verdict == "pass":
                step.note = f"kept: {len(members)} later example(s) dropped as its duplicates"
            clusters.append({"stage": step.stage, "kind": step.op.split(".")[1], "kept": kept,
                             "members": [{"id": i, "similarity": s} for i, s in members]})
        return clusters

    # -- rows that never became examples -------------------------------------------

    def _row_rejects(self, row: tuple, scan: Scan) -> list[dict]:
        source, number, part = row
        found = []
        for _, reject in scan.row_rejects.get((source, number), ()):
            if part is not None and reject.get("part") not in (None, part):
                continue
            found.append(self._row_reject(reject))
        return found

    def _row_reject(self, reject: dict) -> dict:
        """A row dropped before it became an example: at its read, or by its template."""
        stage = self.run.stages[reject["stage"]]
        read = stage if stage["op"] == "read" else self.run.stages[stage["inputs"][0]]
        line = f", line {reject['line']}" if reject.get("line") else ""
        label = f"read {reject['source']}"
        if stage["op"] == "read":
            steps = [_dropped(stage, reject, label)]
            steps[0].note = f"file {read['params']['path']}{line}"
        else:
            steps = [Decision(read["id"], "read", label, "pass", f"row {reject['row']}{line}",
                              note=f"file {read['params']['path']}"), _dropped(stage, reject)]
        return {"id": None, "mix": None, "status": "rejected", "rejected_at": stage["id"],
                "identity": {"source": reject["source"], "row": reject["row"], "part": reject.get("part"),
                             "file": read["params"]["path"], "line": reject.get("line")},
                "example": None, "steps": [s.to_json() for s in steps], "written_to": [], "clusters": []}


_SPLIT_RANK = {"fields": 0, "hash": 0, "phrasing": 1, "assumed": 2}


def _dropped(stage: dict, reject: dict, label: str | None = None) -> Decision:
    return Decision(stage["id"], stage["op"], label or stage_label(stage), "drop", reject.get("value"),
                    _threshold(stage), reject["reason"], f"rule `{reject['rule']}`")


def _threshold(stage: dict):
    params = stage["params"]
    if stage["op"] == "filter.length":
        return f"{params['min']}..{params['max']} {params['unit']}"
    if stage["op"] in ("score", "agreement"):
        return f">= {params['threshold']}"
    if stage["op"] == "dedup.near":
        return f"{params['metric']} >= {params['threshold']}"
    return None
