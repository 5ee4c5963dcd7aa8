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
from array import array
from concurrent.futures import ThreadPoolExecutor
from collections import Counter
from pathlib import Path
from typing import Callable, Iterator

import attrs
import numpy as np

from .diversity import check_diversity
from .errors import RunError
from .keyed import stage_seed
from .paraphrase import Expander
from .plan_graph import filter_chain
from .processors import make_processor
from .readers import read_source
from .records import Reject, SourceRow
from .render import Renderer
from .row_workers import WorkerPool, default_workers, parallel_job, spans
from .cache_units import COMPUTED, CacheUnits, PendingMix, reading
from .embeddings import model_records
from .manifest import file_facts, tool_version
from .scorers import plugin_versions
from .stage_cache import StageCache
from .stage_keys import stage_keys
from .select import MixSelector, Picks
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
    workers: int | None = None  # processes for row-local stages (runtime/row_workers.py); None: one per CPU
    parallel_min_bytes: int = 16 << 20  # smaller inputs are not worth starting workers for
    chunk_bytes: int = 4 << 20  # what one worker task reads
    cache_dir: Path | None = None  # the stage cache (runtime/stage_cache.py); None: no cache


@attrs.define
class RunResult:
    stats: list[StageStats]
    outputs: list[dict]  # {"stage", "path", "rows", "facts": {"xxh3_128", "bytes"}}
    allocations: dict  # mix stage id -> Allocation
    rejects: int
    seconds: float
    diversity: dict = attrs.field(factory=dict)  # mix stage id -> leading-verb counts of what it took
    used_rows: dict = attrs.field(factory=dict)  # source -> (row, part) of costly sources used
    agreement: list = attrs.field(factory=list)  # overall agreement of each `agreement` stage
    workers: int = 1  # processes row-local stages could use
    parallel_entries: list = attrs.field(factory=list)  # `mix/entry` run on worker processes
    input_facts: dict = attrs.field(factory=dict)  # plan path -> file facts, taken as the run began
    rejects_file: dict | None = None  # rejects.jsonl's xxh3_128, bytes and lines, taken as it was written


class MixWriting:
    """A mix's work on threads of its own: `write()` (its outputs) and, for the stage
    cache, the sort of its spill (`pending`), which is saved once both are done. Writing
    is mostly system calls, which run without the GIL. The threads end with the mix, so
    none is alive when a later mix forks worker processes."""

    def __init__(self, write: Callable[[], list[dict]], pending: PendingMix | None) -> None:
        self.pending = pending
        self.threads = ThreadPoolExecutor(2, thread_name_prefix="recipekit-write")
        self.jobs = [self.threads.submit(write)]
        if pending is not None:
            self.jobs.append(self.threads.submit(pending.sort))

    def result(self) -> list[dict]:
        """What was written (as `Engine._write` says), once everything is done."""
        self.threads.shutdown(wait=True)
        try:
            written = self.jobs[0].result()
            for job in self.jobs[1:]:
                job.result()
        except BaseException:
            self.abandon()
            raise
        if self.pending is not None:
            self.pending.commit()
        return written

    def abandon(self) -> None:
        """Wait for the threads and keep nothing of the pending cache unit."""
        self.threads.shutdown(wait=True)
        if self.pending is not None:
            self.pending.discard()


class Engine:
    def __init__(self, plan: dict, settings: RunSettings) -> None:
        self.plan = plan
        self.settings = settings
        self.seed = plan["seed"]
        self.stages = {s["id"]: s for s in plan["stages"]}
        self.stats = {s["id"]: StageStats(s["id"], s["op"]) for s in plan["stages"]}
        self.recorded: set[str] = set()  # stages whose counts are final (shared stages run again)
        self.work = settings.run_dir / ".work"
        self.workers = settings.workers if settings.workers is not None else default_workers()
        self.pool = WorkerPool(self.workers)
        self.parallel_entries: list[str] = []
        self.units: CacheUnits | None = None
        self.input_facts: dict[str, dict] = {}  # plan path -> xxh3_128, bytes, lines, as the run began

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
        for stage in self.plan["stages"]:  # hashed once, before reading: for the manifest and the cache
            if stage["op"] == "read" and stage["params"]["path"] not in self.input_facts:
                self.input_facts[stage["params"]["path"]] = file_facts(self.settings.root / stage["params"]["path"])
        if self.settings.cache_dir is not None:
            hashes = {path: facts["xxh3_128"] for path, facts in self.input_facts.items()}
            keys = stage_keys(self.plan, self.settings.root, tool_version(), hashes, self._outside_code())
            self.units = CacheUnits(self, StageCache(self.settings.cache_dir), keys)
        if self.work.exists():
            shutil.rmtree(self.work)
        self.work.mkdir(parents=True)
        self.rejects = RejectSink(self.work)
        outputs, allocations = [], {}
        self.diversity = {}
        self.used_rows: dict[str, set] = {}
        self.reports: list[dict] = []
        try:
            # A mix's outputs are written on a thread while this one goes on: to the
            # unsampled rejects and, after the last mix, rejects.jsonl. One mix at a time.
            writing = None
            try:
                for mix in (s for s in self.plan["stages"] if s["op"] == "mix"):
                    writes = [s for s in self.plan["stages"] if s["op"] == "write" and s["inputs"] == [mix["id"]]]
                    if writing is not None:
                        outputs += writing.result()
                    writing = None
                    writing = self._run_mix(mix, writes, allocations)
                rejects_file = self.rejects.finish([s["id"] for s in self.plan["stages"]],
                                                   self.settings.run_dir / "rejects.jsonl")
                if writing is not None:
                    outputs += writing.result()
                writing = None
            finally:
                if writing is not None:  # the run failed: nothing half-written goes into the cache
                    writing.abandon()
        finally:
            self.rejects.close()
            self.pool.close()
            shutil.rmtree(self.work, ignore_errors=True)
        stats = [self.stats[s["id"]] for s in self.plan["stages"]]
        if self.units is not None:
            for stage in stats:
                stage.cache = self.units.status.get(stage.id, COMPUTED)
        return RunResult(stats, outputs, allocations, self.rejects.count, time.perf_counter() - started,
                         self.diversity, self.used_rows, self.reports, self.workers, self.parallel_entries,
                         self.input_facts, rejects_file)

    def _outside_code(self) -> dict[str, object]:
        """Stage id -> the versions of the plugin or model it runs (for the stage cache's keys)."""
        plugins = {p["name"]: p for p in plugin_versions(self.settings.allowed_scorers)}
        code: dict[str, object] = {s["stage"]: s for s in model_records(self.plan)}
        for stage in self.plan["stages"]:
            if stage["op"] == "score" and stage["params"]["scorer"] in plugins:
                code[stage["id"]] = plugins[stage["params"]["scorer"]]
        return code

    def _check_inputs(self) -> None:
        for stage in self.plan["stages"]:
            if stage["op"] == "read" and not (self.settings.root / stage["params"]["path"]).is_file():
                raise RunError(f"source file {stage['params']['path']} does not exist "
                               f"(looked in {self.settings.root})", hint="a run needs every source file")

    # -- one mix and the outputs that write it ---------------------------------

    def _run_mix(self, mix: dict, writes: list[dict], allocations: dict) -> MixWriting:
        """Collect and select a mix. Its outputs are then written on a thread while its
        unsampled rejects are made here. A mix collected afresh for the stage cache is
        sorted for saving on a second thread, beside the writes (`MixWriting`)."""
        union, chain = filter_chain(self.stages, mix)
        pending = None
        if self.units is None:
            selector = MixSelector(mix, self.seed, self.work / mix["id"].replace(":", "-"), writes)
            self._collect(mix, union, chain, selector, writes)
        else:
            selector, pending = self._cached_collect(mix, union, chain, writes)
        try:
            picks = self._select(mix, selector, allocations)
        except RunError:  # the pools are sound: a rerun with other shares or caps reuses them
            if pending is not None:
                pending.commit()
            raise
        except BaseException:
            if pending is not None:
                pending.discard()
            raise
        writing = MixWriting(lambda: [done for write in writes for done in self._write(write, selector, picks)],
                             pending)
        try:
            self._account(mix, selector, picks)
        except BaseException:
            writing.abandon()
            raise
        return writing

    def _collect(self, mix: dict, union: dict, chain: list, selector: MixSelector, writes: list[dict]) -> None:
        """Stream the mix's entries through its filter stages into the selector."""
        processors = [make_processor(s, self.seed, self._rows_of, self.settings.allowed_scorers) for s in chain]
        try:
            self._stream_union(union, chain, processors, selector, mix, writes)
            self._drain(chain, processors, selector, mix)
        finally:
            selector.close()

    def _cached_collect(self, mix: dict, union: dict, chain: list,
                        writes: list[dict]) -> tuple[MixSelector, PendingMix | None]:
        """`_collect` through the stage cache: what the mix collected is reused while the
        stages before it are unchanged (runtime/cache_units.py). What was collected
        afresh goes into the cache once the mix's outputs are written (`PendingMix`)."""
        units = self.units
        key = units.mix_key(mix)
        upstream = self._upstream(union, chain)
        found = units.cache.lookup(key)
        units.mark([mix["id"]], COMPUTED)
        if found is not None:
            with reading(found):
                units.replay(found, upstream)
                return MixSelector.restore(mix, self.seed, found, writes), None
        folder, before = units.cache.begin(), units.snapshot()
        try:
            selector = MixSelector(mix, self.seed, folder, writes)
            self._collect(mix, union, chain, selector, writes)
            units.save_changes(folder, before)
        except BaseException:
            units.cache.discard(folder)
            raise
        units.mark([sid for sid in upstream if sid not in units.status], COMPUTED)  # entries marked theirs
        return selector, PendingMix(units.cache, folder, key, f"mix {mix['id'].split(':', 1)[1]}", selector)

    def _upstream(self, union: dict, chain: list) -> set[str]:
        """Every stage a mix's filtered pool depends on."""
        seen, todo = set(), [union["id"], *(s["id"] for s in chain)]
        while todo:
            sid = todo.pop()
            if sid not in seen:
                seen.add(sid)
                todo.extend(self.stages[sid]["inputs"])
        return seen

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
                done = write_primary(path, picks, selector, write["params"])
            else:
                done = write_output(path, order_picks(picks, selector, write["id"]), selector, write["params"])
        stats.rows_in, stats.rows_out = len(picks), done.rows
        written = [{"stage": write["id"], "path": write["params"]["path"], "rows": done.rows, "facts": done.facts()}]
        if write["params"]["review"]:
            salt = stage_seed(self.seed, write["id"] + "#review")
            review, sample = write_review(path, write["params"]["review"], salt)
            written.append({"stage": write["id"] + "#review", "path": review.relative_to(self.settings.run_dir).as_posix(),
                            "rows": sample.rows, "facts": sample.facts()})
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

    def _select(self, mix: dict, selector: MixSelector, allocations: dict) -> Picks:
        """What the mix draws; a diversity target it misses stops the run before anything is written."""
        stats = self.stats[mix["id"]]
        with Timer(stats):
            allocation = selector.solve()
            picks = selector.picks(allocation)
        allocations[mix["id"]] = allocation
        verbs = selector.verb_counts(picks)
        self.diversity[mix["id"]] = (verbs, selector.short, selector.category_counts(picks))
        check_diversity(mix, verbs)
        stats.rows_out = len(picks)
        return picks

    def _account(self, mix: dict, selector: MixSelector, picks: Picks) -> None:
        """The rejects of what the mix did not draw, and the costly rows it used."""
        stats = self.stats[mix["id"]]
        with Timer(stats):
            for count, encoded in selector.unsampled(picks):
                self.rejects.add_encoded(stats, Counter(unsampled=count), encoded)
        self._note_used_rows(selector, picks)

    def _note_used_rows(self, selector: MixSelector, picks: list) -> None:
        """Which rows of sources with a declared cost made it into the dataset."""
        costly = {s["id"].split(":", 1)[1] for s in self.plan["stages"]
                  if s["op"] == "read" and s["params"]["cost"] is not None}
        for number, pool in enumerate(selector.pools):
            if pool.source in costly:
                taken = np.flatnonzero(picks.taken(number, len(pool.keys)))
                rows = np.frombuffer(pool.rows, dtype=np.int64)[taken].tolist()
                parts = np.frombuffer(pool.parts, dtype=np.int64)[taken].tolist()
                self.used_rows.setdefault(pool.source, set()).update(zip(rows, parts))

    # -- streaming the union ---------------------------------------------------

    def _stream_union(self, union: dict, chain: list, processors: list, selector, mix: dict,
                      writes: list[dict]) -> None:
        """Each entry in mix order, on worker processes when it can be, else in batches here.

        This is the seam between engines: the Ray engine (runtime/ray_engine.py) subclasses
        Engine and overrides only this, feeding the same selector through `_through`."""
        first_time = union["id"] not in self.recorded
        for name, entry_id in zip(union["params"]["entries"], union["inputs"]):
            job = self._parallel_job(name, self.stages[entry_id], chain, selector, writes)
            if job is not None:
                self._run_parallel(job, union if first_time else None, chain, processors, selector, mix)
                continue
            for batch in self._entry_stream(name, self.stages[entry_id], chain):
                if first_time:
                    self.stats[union["id"]].rows_in += len(batch)
                    self.stats[union["id"]].rows_out += len(batch)
                self._through(chain, processors, 0, batch, selector, mix)
        self.recorded.add(union["id"])

    def _entry_stream(self, name: str, transform: dict, chain: list) -> Iterator[list[dict]]:
        """An entry's examples, through the stage cache when there is one."""
        side_inputs = {i for stage in chain for i in stage["inputs"][1:]}  # an evaluation set
        if self.units is None or side_inputs & set(transform["inputs"]):
            return self._entry_batches(name, transform)
        return self.units.entry_batches(name, transform, lambda: self._entry_batches(name, transform))

    def _parallel_job(self, name: str, transform: dict, chain: list, selector, writes: list[dict]):
        settings = self.settings
        read = self.stages[transform["inputs"][0]]
        if self.workers < 2 or settings.limit is not None or read["params"].get("format") != "jsonl":
            return None
        path = settings.root / read["params"]["path"]
        if path.stat().st_size < settings.parallel_min_bytes:
            return None
        return parallel_job(name, transform, read, chain, self.seed, settings.root, writes, selector)

    def _run_parallel(self, job, union: dict | None, chain: list, processors: list, selector, mix: dict) -> None:
        """An entry's chunks from the workers, in file order: counts, rejects, dedup, the mix."""
        number = selector.by_name[job.entry]
        self.parallel_entries.append(f"{mix['id'].split(':', 1)[1]}/{job.entry}")
        dedup = processors[chain.index(job.dedup)].__self__ if job.dedup is not None else None
        recorded = {job.read["id"], job.transform["id"]} & self.recorded
        read_stats, seen = self.stats[job.read["id"]], 0
        for chunk in self.pool.results(job, spans(self.settings.root / job.read["params"]["path"],
                                                  self.settings.chunk_bytes)):
            for count in chunk.counts:
                if count.id not in recorded:
                    stats = self.stats[count.id]
                    stats.rows_in += count.rows_in
                    stats.rows_out += count.rows_out
                    stats.seconds += count.seconds
                    self.rejects.add_encoded(stats, count.dropped, count.rejects)
            if union is not None:
                self.stats[union["id"]].rows_in += chunk.counts[1].rows_out
                self.stats[union["id"]].rows_out += chunk.counts[1].rows_out
            keep = self._dedup_columns(dedup, chunk) if dedup is not None else None
            if job.after:
                keep = self._after_dedup(job, chunk, keep)
            with Timer(self.stats[mix["id"]]):
                selector.add_columns(number, chunk, keep)
            self.stats[mix["id"]].rows_in += len(keep) if keep is not None else chunk.counts[-1].rows_out
            seen += chunk.items
            if self.settings.progress and job.read["id"] not in recorded:
                self.settings.progress(read_stats.id, seen)
        self.recorded.update({job.read["id"], job.transform["id"]})

    def _after_dedup(self, job, chunk, keep: np.ndarray | None) -> np.ndarray:
        """Apply the workers' verdicts of the stages after the dedup to what it kept."""
        fates = np.frombuffer(chunk.fates, dtype=np.int8)
        alive = np.zeros(len(fates), dtype=bool)
        alive[keep if keep is not None else slice(None)] = True
        dropped_at = np.flatnonzero(fates >= 0).tolist()  # positions of `chunk.after_rejects`
        for number, stage in enumerate(job.after):
            stats = self.stats[stage["id"]]
            going = alive & (fates == number)
            stats.rows_in += int(alive.sum())
            stats.rows_out += int(alive.sum() - going.sum())
            chosen = [chunk.after_rejects[n] for n, i in enumerate(dropped_at) if going[i]]
            self.rejects.add_encoded(stats, Counter(rule for rule, _ in chosen), b"".join(d for _, d in chosen))
            alive &= ~going
        return np.flatnonzero(alive)

    def _dedup_columns(self, dedup, chunk) -> np.ndarray:
        """Exact dedup of a chunk's examples by their keys: the positions kept."""
        stats = self.stats[dedup.stage_id]
        size = len(chunk.keys) // 16
        with Timer(stats):
            fresh = np.array(dedup.seen.add_batch(chunk.keys) if size else [], dtype=bool)
            keep = np.flatnonzero(fresh)
            if len(keep) < size:
                dupes = np.flatnonzero(~fresh).tolist()
                rows, parts = array("q", chunk.rows), array("q", chunk.parts)
                starts = list(itertools.accumulate(array("I", chunk.text_lengths), initial=0))
                keys = b"".join([chunk.keys[16 * i:16 * i + 16] for i in dupes])
                encoded = dedup.encoded_rejects(chunk.source, [rows[i] for i in dupes], [parts[i] for i in dupes],
                                                keys, [chunk.texts[starts[i]:starts[i + 1]] for i in dupes])
                self.rejects.add_encoded(stats, Counter(duplicate=len(dupes)), encoded)
        stats.rows_in += size
        stats.rows_out += len(keep)
        return keep

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
            return Expander(stage, name, self.seed, self._rows_of).expand
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
