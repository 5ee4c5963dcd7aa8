"""The local engine: runs a plan on one machine, streaming, in batches.

For each output, examples stream from the sources in mix order (entry by
entry, rows in file order) through the row stages in batches; only the mix
is a barrier, and it holds offsets and 64-bit keys, not examples. Batching
changes speed, never results: every decision is keyed by row identity, every
stage keeps its rows in arrival order, and rejects are collected per stage.
"""

from __future__ import annotations

import gc
import itertools
import shutil
import time
from pathlib import Path
from typing import Callable, Iterator

import attrs

from .diversity import check_diversity
from .errors import RunError
from .keyed import stage_seed
from .paraphrase import Expander
from .plan_graph import filter_chain
from .processors import make_processor
from .readers import read_source
from .records import Reject, SourceRow
from .render import Renderer
from .select import MixSelector
from .stats import RejectSink, StageStats, Timer
from .writer import order_picks, write_output, write_primary, write_review

DEFAULT_BATCH = 4096


@attrs.define
class RunSettings:
    root: Path  # where source paths are relative to
    run_dir: Path
    batch_size: int = DEFAULT_BATCH
    limit: int | None = None  # rows per source, for a quick try
    allowed_scorers: tuple[str, ...] = ()  # scorer plugins the person running this trusts
    progress: Callable[[str, int], None] | None = None  # (stage id, rows done)


@attrs.define
class RunResult:
    stats: list[StageStats]
    outputs: list[dict]  # {"stage", "path", "rows"}
    allocations: dict  # mix stage id -> Allocation
    rejects: int
    seconds: float
    diversity: dict = attrs.field(factory=dict)  # mix stage id -> leading-verb counts of what it took
    used_rows: dict = attrs.field(factory=dict)  # source -> (row, part) of costly sources used
    agreement: list = attrs.field(factory=list)  # overall agreement of each `agreement` stage


class Engine:
    def __init__(self, plan: dict, settings: RunSettings) -> None:
        self.plan = plan
        self.settings = settings
        self.seed = plan["seed"]
        self.stages = {s["id"]: s for s in plan["stages"]}
        self.stats = {s["id"]: StageStats(s["id"], s["op"]) for s in plan["stages"]}
        self.recorded: set[str] = set()  # stages whose counts are final (shared stages run again)
        self.work = settings.run_dir / ".work"

    def run(self) -> RunResult:
        # Millions of short-lived dicts and no reference cycles: collect less often
        # (a 10-15% difference); everything allocated before the run is frozen out.
        thresholds = gc.get_threshold()
        gc.freeze()
        gc.set_threshold(50_000, 20, 20)
        try:
            return self._run()
        finally:
            gc.set_threshold(*thresholds)
            gc.unfreeze()

    def _run(self) -> RunResult:
        started = time.perf_counter()
        self._check_inputs()
        if self.work.exists():
            shutil.rmtree(self.work)
        self.work.mkdir(parents=True)
        self.rejects = RejectSink(self.work)
        outputs, allocations = [], {}
        self.diversity = {}
        self.used_rows: dict[str, set] = {}
        self.reports: list[dict] = []
        try:
            for mix in (s for s in self.plan["stages"] if s["op"] == "mix"):
                writes = [s for s in self.plan["stages"] if s["op"] == "write" and s["inputs"] == [mix["id"]]]
                outputs += self._run_mix(mix, writes, allocations)
            self.rejects.finish([s["id"] for s in self.plan["stages"]], self.settings.run_dir / "rejects.jsonl")
        finally:
            shutil.rmtree(self.work, ignore_errors=True)
        stats = [self.stats[s["id"]] for s in self.plan["stages"]]
        return RunResult(stats, outputs, allocations, self.rejects.count, time.perf_counter() - started,
                         self.diversity, self.used_rows, self.reports)

    def _check_inputs(self) -> None:
        for stage in self.plan["stages"]:
            if stage["op"] == "read" and not (self.settings.root / stage["params"]["path"]).is_file():
                raise RunError(f"source file {stage['params']['path']} does not exist "
                               f"(looked in {self.settings.root})", hint="a run needs every source file")

    # -- one mix and the outputs that write it ---------------------------------

    def _run_mix(self, mix: dict, writes: list[dict], allocations: dict) -> list[dict]:
        union, chain = filter_chain(self.stages, mix)
        processors = [make_processor(s, self.seed, self._rows_of, self.settings.allowed_scorers) for s in chain]
        selector = MixSelector(mix, self.seed, self.work / mix["id"].replace(":", "-"), writes)
        try:
            for batch in self._union_batches(union):
                self._through(chain, processors, 0, batch, selector, mix)
            self._drain(chain, processors, selector, mix)
        finally:
            selector.close()
        picks = self._select(mix, selector, allocations)
        return [written for write in writes for written in self._write(write, selector, picks)]

    def _through(self, chain: list, processors: list, start: int, batch: list, selector, mix: dict) -> None:
        """Run a batch through the chain from stage `start`, into the mix."""
        for stage, processor in zip(chain[start:], processors[start:]):
            batch = self._apply(stage, processor, batch)
        with Timer(self.stats[mix["id"]]):
            selector.add(batch)
        self.stats[mix["id"]].rows_in += len(batch)

    def _drain(self, chain: list, processors: list, selector, mix: dict) -> None:
        """Stages that hold examples until the stream ends (`agreement`) let them go, in order."""
        for number, (stage, processor) in enumerate(zip(chain, processors)):
            finish = getattr(processor, "finish", None)
            if finish is None:
                continue
            stats, rejects = self.stats[stage["id"]], []
            with Timer(stats):
                released = finish(rejects)
            stats.rows_out += len(released)
            self.rejects.add(stats, rejects)
            self.reports.append(processor.report)
            self._through(chain, processors, number + 1, released, selector, mix)

    def _write(self, write: dict, selector: MixSelector, picks: list) -> dict:
        stats = self.stats[write["id"]]
        path = self.settings.run_dir / write["params"]["path"]
        with Timer(stats):
            if write is selector.primary:
                rows = write_primary(path, picks, selector, write["params"])
            else:
                rows = write_output(path, order_picks(picks, selector, write["id"]), selector, write["params"])
        stats.rows_in, stats.rows_out = len(picks), rows
        written = [{"stage": write["id"], "path": write["params"]["path"], "rows": rows}]
        if write["params"]["review"]:
            salt = stage_seed(self.seed, write["id"] + "#review")
            review, count = write_review(path, write["params"]["review"], salt)
            written.append({"stage": write["id"] + "#review", "path": review.relative_to(self.settings.run_dir).as_posix(),
                            "rows": count})
        return written

    def _rows_of(self, read_id: str):
        """Every row of a source that is not a mix entry (an evaluation set), counted as read."""
        for rows in self._read_batches(self.stages[read_id]):
            yield from rows

    def _apply(self, stage: dict, processor, batch: list[dict]) -> list[dict]:
        stats = self.stats[stage["id"]]
        rejects: list[Reject] = []
        with Timer(stats):
            kept = processor(batch, rejects)
        stats.rows_in += len(batch)
        stats.rows_out += len(kept)
        self.rejects.add(stats, rejects)
        return kept

    def _select(self, mix: dict, selector: MixSelector, allocations: dict):
        stats = self.stats[mix["id"]]
        with Timer(stats):
            allocation = selector.solve()
            picks = selector.picks(allocation)
            for rejects in selector.unsampled(picks):
                self.rejects.add(stats, rejects)
        allocations[mix["id"]] = allocation
        self._note_used_rows(selector, picks)
        verbs = selector.verb_counts(picks)
        self.diversity[mix["id"]] = (verbs, selector.short, selector.category_counts(picks))
        check_diversity(mix, verbs)
        stats.rows_out = len(picks)
        return picks

    def _note_used_rows(self, selector: MixSelector, picks: list) -> None:
        """Which rows of sources with a declared cost made it into the dataset."""
        costly = {s["id"].split(":", 1)[1] for s in self.plan["stages"]
                  if s["op"] == "read" and s["params"]["cost"] is not None}
        for pick in picks:
            pool = selector.pools[pick.pool]
            if pool.source in costly:
                self.used_rows.setdefault(pool.source, set()).add((pool.rows[pick.index], pool.parts[pick.index]))

    # -- streaming the union ---------------------------------------------------

    def _union_batches(self, union: dict) -> Iterator[list[dict]]:
        first_time = union["id"] not in self.recorded
        for name, entry_id in zip(union["params"]["entries"], union["inputs"]):
            for batch in self._entry_batches(name, self.stages[entry_id]):
                if first_time:
                    self.stats[union["id"]].rows_in += len(batch)
                    self.stats[union["id"]].rows_out += len(batch)
                yield batch
        self.recorded.add(union["id"])

    def _entry_batches(self, name: str, stage: dict) -> Iterator[list[dict]]:
        transform = self._transform(name, stage)
        record = stage["id"] not in self.recorded
        stats = self.stats[stage["id"]]
        for rows in self._read_batches(self.stages[stage["inputs"][0]]):
            rejects: list[Reject] = []
            with Timer(stats):
                examples = transform(rows, rejects)
            if record:
                stats.rows_in += len(rows)
                stats.rows_out += len(examples)
                self.rejects.add(stats, rejects)
            yield examples
        self.recorded.add(stage["id"])

    def _transform(self, name: str, stage: dict):
        if stage["op"] == "expand":
            return Expander(stage, name, self.seed).expand
        renderer = Renderer(stage, name, self.seed)
        if renderer.needs_pool():
            read = self.stages[stage["inputs"][0]]
            source = read["id"].split(":", 1)[1]
            rows = read_source(read["params"], self.settings.root, read["id"], source)
            renderer.set_pool(r for r in self._limited(rows) if isinstance(r, SourceRow))
        return renderer.render

    def _limited(self, items):
        limit = self.settings.limit
        for number, item in enumerate(items):
            if limit is not None and number >= limit:
                return
            yield item

    def _read_batches(self, stage: dict) -> Iterator[list[SourceRow]]:
        """Batches of rows; rejects go to the sink. Time spent here is the read stage's."""
        record = stage["id"] not in self.recorded
        stats = self.stats[stage["id"]]
        source = stage["id"].split(":", 1)[1]
        items = self._limited(read_source(stage["params"], self.settings.root, stage["id"], source))
        size, seen = self.settings.batch_size, 0
        while True:
            started = time.perf_counter()
            chunk = list(itertools.islice(items, size))
            if not chunk:
                break
            rows = [item for item in chunk if item.__class__ is SourceRow]
            rejects = [item for item in chunk if item.__class__ is not SourceRow] if len(rows) < len(chunk) else []
            seen += len(chunk)
            if record:
                stats.seconds += time.perf_counter() - started
            yield self._flush_read(stats, record, rows, rejects, seen)
        self.recorded.add(stage["id"])

    def _flush_read(self, stats: StageStats, record: bool, rows: list, rejects: list, seen: int) -> list:
        if record:
            stats.rows_in += len(rows) + len(rejects)
            stats.rows_out += len(rows)
            self.rejects.add(stats, rejects)
            if self.settings.progress:
                self.settings.progress(stats.id, seen)
        return rows
