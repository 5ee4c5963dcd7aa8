"""What the local engine keeps in the stage cache, and how it replays it.

Two units of work are cached, at the two places where a stream can be cut
without holding it in memory:

- an *entry*: the examples a mix entry's template or expansion made from its
  source, with its read and render (or expand) stages' counts and rejects;
- a *mix*: everything the mix collected after its filter stages (the pools the
  mix draws from and the first output's pre-formatted lines), with the counts
  and rejects of every stage upstream of it.

A unit's key is the keys of the stages it covers (runtime/stage_keys.py) plus
what else shapes it: for a mix, its id and what its outputs format and order
by, but not its shares, size or caps, so changing a ratio reuses the whole
filtered pool and only selection and writing run again; the shared stages
already counted earlier in the run (a source read by two mixes is counted
once); and `--limit`. A unit stores the *changes* its work made to the run's
counts, rejects and reports, and replaying it makes the same changes, so a
run from the cache writes the same manifest counts and rejects.jsonl bytes.
"""

from __future__ import annotations

import contextlib
import json
import os
import zipfile
from collections import Counter
from pathlib import Path
from typing import Iterator

import attrs
import orjson

from .errors import RunError
from .records import Provenance
from .stage_cache import StageCache
from .stage_keys import digest

REUSED, COMPUTED = "reused", "computed"


@contextlib.contextmanager
def reading(folder: Path):
    """A cache entry that cannot be read back (edited, truncated by a full disk) stops the
    run with words, not a traceback."""
    try:
        yield
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as error:
        raise RunError(f"the stage cache entry {folder} is damaged: {error}",
                       hint="remove it (`recipekit cache gc --all`), or run with --no-cache") from error


class CacheUnits:
    def __init__(self, engine, cache: StageCache, keys: dict[str, str]) -> None:
        self.engine = engine
        self.cache = cache
        self.keys = keys  # stage id -> stage key
        self.status: dict[str, str] = {}  # stage id -> reused | computed

    # -- keys ------------------------------------------------------------------------

    def _key(self, unit: str, **parts) -> str:
        engine = self.engine
        return digest({"unit": unit, "recorded": sorted(engine.recorded), "limit": engine.settings.limit, **parts})

    def mix_key(self, mix: dict) -> str:
        return self._key("mix", shape=_mix_shape(self.engine.plan, mix, self.keys))

    def entry_key(self, transform: dict) -> str:
        return self._key("entry", stage=self.keys[transform["id"]])

    # -- a unit's changes to the run ---------------------------------------------------

    def snapshot(self) -> tuple:
        engine = self.engine
        counts = {sid: (s.rows_in, s.rows_out, Counter(s.dropped)) for sid, s in engine.stats.items()}
        return counts, engine.rejects.positions(), set(engine.recorded), len(engine.reports), \
            len(engine.parallel_entries)

    def save_changes(self, folder: Path, before: tuple, only: set[str] | None = None) -> None:
        """What the run's counts, rejects and reports gained since `before` (for `only` these stages)."""
        engine = self.engine
        counts, positions, recorded, reports, parallel = before
        changes: dict = {"stats": {}, "rejects": [], "recorded": sorted(engine.recorded - recorded),
                         "reports": engine.reports[reports:], "parallel_entries": engine.parallel_entries[parallel:]}
        for sid, stats in engine.stats.items():
            rows_in, rows_out, dropped = counts[sid]
            if only is not None and sid not in only:
                continue
            delta = {"rows_in": stats.rows_in - rows_in, "rows_out": stats.rows_out - rows_out,
                     "dropped": dict(stats.dropped - dropped)}
            if delta["rows_in"] or delta["rows_out"] or delta["dropped"]:
                changes["stats"][sid] = delta
        with (folder / "rejects.jsonl").open("wb") as out:
            changes["rejects"] = [list(copied) for copied in engine.rejects.copy_since(positions, out, only)]
        if only is not None:
            changes["recorded"] = [sid for sid in changes["recorded"] if sid in only]
        (folder / "changes.json").write_text(json.dumps(changes, ensure_ascii=False))

    def replay(self, folder: Path, covered: set[str]) -> None:
        """Make the changes a cached unit made, and mark the stages it covers reused."""
        engine = self.engine
        changes = json.loads((folder / "changes.json").read_text())
        for sid, delta in changes["stats"].items():
            stats = engine.stats[sid]
            stats.rows_in += delta["rows_in"]
            stats.rows_out += delta["rows_out"]
            stats.dropped.update(delta["dropped"])
        data, at = engine.rejects.borrow((folder / "rejects.jsonl").open("rb")), 0
        for sid, size, lines in changes["rejects"]:
            engine.rejects.append(sid, data, at, at + size, lines)
            at += size
        size = os.fstat(data.fileno()).st_size
        if at != size:
            raise ValueError(f"rejects.jsonl holds {size} bytes, not {at}")
        engine.recorded.update(changes["recorded"])
        engine.reports.extend(changes["reports"])
        engine.parallel_entries.extend(changes["parallel_entries"])
        self.mark(covered, REUSED)

    def mark(self, stage_ids, status: str) -> None:
        for sid in stage_ids:
            if self.status.get(sid) != COMPUTED:  # computed anywhere in the run: computed
                self.status[sid] = status

    # -- an entry's examples -----------------------------------------------------------

    def entry_batches(self, name: str, transform: dict, live) -> Iterator[list[dict]]:
        """The entry's batches: from the cache, or from `live()` while saving them."""
        covered = {transform["id"], *transform["inputs"]}
        key = self.entry_key(transform)
        found = self.cache.lookup(key)
        if found is not None:
            with reading(found):
                yield from _read_examples(found / "examples.jsonl", self.engine.settings.batch_size)
                self.replay(found, covered)
            return
        folder, before, saving = self.cache.begin(), self.snapshot(), True
        try:
            with (folder / "examples.jsonl").open("wb") as out:
                for batch in live():
                    saving = saving and _save_examples(out, batch)
                    yield batch
            self.mark(covered, COMPUTED)
            if saving:
                self.save_changes(folder, before, only=covered)
                self.cache.commit(folder, key, "entry", f"entry {name}")
                return
        except BaseException:
            self.cache.discard(folder)
            raise
        self.cache.discard(folder)  # something in it is not JSON (a parquet value): not cached


@attrs.define
class PendingMix:
    """A mix unit this run collected, put in the cache after the run has written the
    mix's outputs from it. Its spill is saved sorted (runtime/ordered_spill.py); the
    sorted copies are made beside the writes (`sort`, on another thread) and adopted
    by `commit`, once nothing reads the unsorted files any more."""

    cache: StageCache
    folder: Path
    key: str
    label: str
    selector: object  # the MixSelector that collected it
    sorted: list | None = None

    def sort(self) -> None:
        ordered = self.selector.ordered
        self.sorted = ordered.sorted_copies() if ordered is not None else None

    def commit(self) -> None:
        try:
            if self.sorted is not None:
                self.selector.ordered.adopt(self.sorted)
            self.selector.save(self.folder)
            self.cache.commit(self.folder, self.key, "mix", self.label)
        except BaseException:
            self.discard()
            raise

    def discard(self) -> None:
        self.cache.discard(self.folder)


def _save_examples(out, batch: list[dict]) -> bool:
    buffer = bytearray()
    try:
        for example in batch:
            buffer += orjson.dumps(example, default=list, option=orjson.OPT_APPEND_NEWLINE)
    except TypeError:
        return False
    out.write(buffer)
    return True


def _read_examples(path: Path, batch_size: int) -> Iterator[list[dict]]:
    batch: list[dict] = []
    with path.open("rb") as lines:
        for line in lines:
            example = orjson.loads(line)
            example["_prov"] = Provenance(*example["_prov"])
            batch.append(example)
            if len(batch) == batch_size:
                yield batch
                batch = []
    if batch:
        yield batch


def forecast(old: dict, new: dict, old_root: Path, new_root: Path, tool: str) -> dict[str, str]:
    """Which stages of `new` a run would take from the cache after a run of `old`:
    stage id -> reused | computed. Selection and writing always run."""
    from .plan_graph import filter_chain
    from .stage_keys import stage_keys

    before, after = stage_keys(old, old_root, tool), stage_keys(new, new_root, tool)
    had = set(before.values())
    stages = {s["id"]: s for s in new["stages"]}
    old_mixes = {_mix_shape(old, m, before) for m in old["stages"] if m["op"] == "mix"}
    status = {sid: COMPUTED for sid in stages}
    for stage in new["stages"]:
        if stage["op"] in ("read", "render", "expand") and after[stage["id"]] in had:
            status[stage["id"]] = REUSED
    for mix in (s for s in new["stages"] if s["op"] == "mix"):
        if _mix_shape(new, mix, after) in old_mixes:
            union, chain = filter_chain(stages, mix)
            for sid in [union["id"], *(s["id"] for s in chain)]:
                status[sid] = REUSED
    return status


def _mix_shape(plan: dict, mix: dict, keys: dict[str, str]) -> str:
    from .plan_graph import filter_chain
    from .select import keeps_json

    stages = {s["id"]: s for s in plan["stages"]}
    writes = [s for s in plan["stages"] if s["op"] == "write" and s["inputs"] == [mix["id"]]]
    union, chain = filter_chain(stages, mix)
    shaping = [{"id": w["id"], "params": {k: v for k, v in w["params"].items() if k not in ("path", "review")}}
               for w in writes]
    return digest({"mix": mix["id"], "union": keys[union["id"]], "chain": [keys[s["id"]] for s in chain],
                   "balance": mix["params"].get("balance"), "keep_json": keeps_json(mix, writes),
                   "writes": shaping})
