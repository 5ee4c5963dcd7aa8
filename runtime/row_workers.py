"""Row-local stages on worker processes (`recipekit run --workers N`).

By default a mix's entries stream through its filter stages in one process.
When an entry reads a JSONL file and everything between it and the mix is
row-local — render or expand, then length, regex and required filters and
the heuristic score — around at most one exact dedup, the work per row is
split. Worker processes each take a chunk of the file (a byte range that
starts at a line start, with the number of that line, so every row keeps its
identity), read, render and filter it, compute the dedup keys and format the
output lines. The main process takes the chunks back in file order, inserts
the keys (first come, first kept: the very arrivals one process would see)
and hands compact columns to the mix. Row-local stages after the dedup run
ahead in the workers on every example; the main process applies their
verdicts to what the dedup kept.

Only bytes cross between processes: arrays of keys and row numbers, the
formatted lines, the rejects already encoded. Pickling example dicts costs as
much as the work it would save (measured), so no example crosses. The same
chunk gives the same bytes in any process, and chunks are consumed in order,
so outputs and rejects are byte-identical to a one-process run.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
import warnings
from array import array
from collections import Counter, deque
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Iterator

import attrs
import orjson
from xxhash import xxh3_64_intdigest

from .diversity import LeadingVerbs
from .errors import RunError
from .format import first_epoch_formatter
from .keyed import by_quality
from .paraphrase import Expander
from .processors import ExactDedup, make_processor
from .readers import read_source
from .records import SourceRow, quote
from .render import Renderer
from .ordered_spill import dumped
from .select import json_text

_ROW_CHECKS = frozenset({"filter.length", "filter.regex", "filter.required"})


@attrs.frozen
class Job:
    """What a worker needs to rebuild one entry's row-local pipeline."""

    key: str  # names the pipeline in a worker's cache
    entry: str
    read: dict
    transform: dict
    stages: tuple  # row-local filter stages before the dedup (all of them without one), in order
    dedup: dict | None  # the chain's exact dedup, if any
    after: tuple  # row-local filter stages after the dedup, in order
    seed: int
    root: str
    primary: dict | None  # the first output's write params: its lines are formatted in the worker
    keep_json: bool  # the mix keeps a JSON copy of each example
    balance: str | None  # the field the mix balances on
    mix_salt: int  # the mix's selection salt
    orders: tuple  # (salt, descending or None) of each output's order key, in the selector's order


@attrs.define
class StageCount:
    id: str
    rows_in: int
    rows_out: int
    seconds: float
    dropped: Counter
    rejects: bytes  # encoded like rejects.jsonl


@attrs.define
class Chunk:
    """One chunk's results: per-stage counts, then one column entry per surviving example."""

    items: int  # rows and rejects read
    counts: list
    source: str
    ids: bytes  # array("Q"): identity keys
    rows: bytes  # array("q")
    parts: bytes  # array("q")
    keys: bytes  # 16 bytes of dedup key an example (empty without dedup)
    selection: bytes  # array("Q"): the mix's selection keys
    orders: list  # array("Q") bytes of each output's order keys
    verb_names: list  # the chunk's distinct leading verbs
    verbs: bytes  # array("I"): each example's index into verb_names
    lines: bytes  # the first output's lines
    line_lengths: bytes  # array("I")
    texts: bytes  # each example as a dedup reject quotes it (with dedup)
    text_lengths: bytes
    jsons: bytes  # the mix's JSON copy (with keep_json)
    json_lengths: bytes
    categories: list | None
    fates: bytes  # array("b"): per example, the stage after the dedup that drops it (index), or -1
    after_rejects: list  # per dropped example, in order: (rule, encoded reject)


def parallel_job(entry: str, transform: dict, read: dict, chain: list[dict], seed: int, root: Path,
                 writes: list[dict], selector) -> Job | None:
    """The job for an entry whose stages can run in workers, else None."""
    if read["params"].get("format") != "jsonl":
        return None
    if transform["op"] == "render":
        if transform["params"]["fewshot"] is not None:
            return None
    elif transform["op"] != "expand" or transform["params"].get("inputs") is not None or len(transform["inputs"]) > 1:
        return None
    dedups = [n for n, stage in enumerate(chain) if stage["op"] == "dedup.exact"]
    if len(dedups) > 1 or not all(_row_local(stage) for stage in chain if stage["op"] != "dedup.exact"):
        return None
    cut = dedups[0] if dedups else len(chain)
    key = "|".join([entry, transform["id"], *(s["id"] for s in chain)])
    balance = selector.balance["field"] if selector.balance is not None else None
    orders = tuple((selector.order_salts[w], selector.by_quality.get(w)) for w in selector.order_salts)
    return Job(key, entry, read, transform, tuple(chain[:cut]), chain[cut] if dedups else None,
               tuple(chain[cut + 1:]), seed, str(root), writes[0]["params"] if writes else None,
               selector.keep_json, balance, selector.salt, orders)


def _row_local(stage: dict) -> bool:
    return stage["op"] in _ROW_CHECKS or (stage["op"] == "score" and stage["params"]["scorer"] == "heuristic")


def spans(path: Path, chunk_bytes: int) -> Iterator[tuple[int, int, int]]:
    """(start, end, first line number) of chunks of about `chunk_bytes` that start at line starts."""
    size = path.stat().st_size
    start = row = 0
    with path.open("rb") as f:
        while start < size:
            f.seek(min(start + chunk_bytes, size))
            f.readline()  # to the end of the line the cut falls in
            end = min(f.tell(), size)
            f.seek(start)
            lines = f.read(end - start).count(b"\n")
            yield start, end, row
            start, row = end, row + lines


# -- in a worker -----------------------------------------------------------------

_PIPELINES: dict[str, "_Pipeline"] = {}


def run_chunk(job: Job, span: tuple[int, int, int]) -> Chunk:
    pipeline = _PIPELINES.get(job.key)
    if pipeline is None:
        pipeline = _PIPELINES[job.key] = _Pipeline(job)
    return pipeline.run(span)


class _Pipeline:
    def __init__(self, job: Job) -> None:
        self.job = job
        self.source = job.read["id"].split(":", 1)[1]
        self.transform = (Expander(job.transform, job.entry, job.seed).expand if job.transform["op"] == "expand"
                          else Renderer(job.transform, job.entry, job.seed).render)
        self.processors = [make_processor(stage, job.seed) for stage in job.stages]
        self.after = [make_processor(stage, job.seed) for stage in job.after]
        self.dedup = ExactDedup(job.dedup) if job.dedup is not None else None
        self.format = first_epoch_formatter(job.primary) if job.primary is not None else None
        self.verbs = LeadingVerbs()

    def run(self, span: tuple[int, int, int]) -> Chunk:
        job = self.job
        started = time.process_time()
        items = list(read_source(job.read["params"], Path(job.root), job.read["id"], self.source, span))
        rows = [item for item in items if item.__class__ is SourceRow]
        counts = [_count(job.read["id"], len(items), rows, [i for i in items if i.__class__ is not SourceRow],
                         started)]
        batch: list = rows
        for stage, process in ((job.transform, self.transform), *zip(job.stages, self.processors)):
            started, rejects = time.process_time(), []
            kept = process(batch, rejects)
            counts.append(_count(stage["id"], len(batch), kept, rejects, started))
            batch = kept
        fates, after_rejects = self._after_dedup(batch)
        return self._columns(len(items), counts, batch, fates, after_rejects)

    def _after_dedup(self, examples: list[dict]) -> tuple[array, list]:
        """The stages after the dedup, run ahead on every example: which one would drop each
        (the main process applies the verdicts to the examples the dedup keeps)."""
        fates = array("b", [-1]) * len(examples)
        dropped: dict[int, tuple[str, bytes]] = {}
        alive = list(range(len(examples)))
        for number, process in enumerate(self.after):
            rejects: list = []
            kept = {id(e) for e in process([examples[i] for i in alive], rejects)}
            gone = [i for i in alive if id(examples[i]) not in kept]
            for i, reject in zip(gone, rejects):  # a stage's rejects come in its input's order
                fates[i] = number
                dropped[i] = (reject.rule, orjson.dumps(reject.to_json()) + b"\n")
            alive = [i for i in alive if id(examples[i]) in kept]
        return fates, [dropped[i] for i in sorted(dropped)]

    def _columns(self, items: int, counts: list, examples: list[dict], fates: array, after_rejects: list) -> Chunk:
        job = self.job
        provs = [e["_prov"] for e in examples]
        lines, line_lengths = dumped(self.format, examples) if self.format else (b"", array("I"))
        texts, text_lengths = dumped(_quoted, examples) if self.dedup else (b"", array("I"))
        jsons, json_lengths = dumped(_json_copy, examples) if job.keep_json else (b"", array("I"))
        ids = [e["_key"] for e in examples]
        packed = [i.to_bytes(8, "big") for i in ids]
        names: dict[str, int] = {}
        verbs = array("I", [names.setdefault(v, len(names)) for v in map(self.verbs, (e["instruction"] for e in examples))])
        return Chunk(
            items, counts, self.source,
            array("Q", ids).tobytes(),
            array("q", [p.row for p in provs]).tobytes(), array("q", [p.part for p in provs]).tobytes(),
            b"".join([self.dedup.key(e) for e in examples]) if self.dedup else b"",
            array("Q", [xxh3_64_intdigest(b, job.mix_salt) for b in packed]).tobytes(),
            [_order_keys(examples, packed, salt, descending) for salt, descending in job.orders],
            list(names), verbs.tobytes(),
            lines, line_lengths.tobytes(), texts, text_lengths.tobytes(), jsons, json_lengths.tobytes(),
            [json_text(e["_carry"].get(job.balance)) for e in examples] if job.balance else None,
            fates.tobytes(), after_rejects,
        )


def _order_keys(examples: list[dict], packed: list[bytes], salt: int, descending: bool | None) -> bytes:
    """An output's order keys, as MixSelector makes them (by quality first, when so ordered)."""
    keys = [xxh3_64_intdigest(b, salt) for b in packed]
    if descending is not None:
        keys = [by_quality(e.get("_score", 0.0), k, descending) for e, k in zip(examples, keys)]
    return array("Q", keys).tobytes()


def _count(stage_id: str, rows_in: int, kept: list, rejects: list, started: float) -> StageCount:
    encoded = b"".join([orjson.dumps(r.to_json()) + b"\n" for r in rejects])
    return StageCount(stage_id, rows_in, len(kept), time.process_time() - started,
                      Counter(r.rule for r in rejects), encoded)


def _quoted(example: dict) -> bytes:
    """The example as `reject_for` quotes it in a reject."""
    return orjson.dumps(quote(example))


def _json_copy(example: dict) -> bytes:
    return orjson.dumps(example, default=list) + b"\n"  # as MixSelector keeps it


# -- in the main process -----------------------------------------------------------


def default_workers() -> int:
    """Processes for row-local work: one per CPU this process may use, at most 4; on
    systems without `fork` (or where it is unsafe, macOS), none."""
    if not _can_fork():
        return 1
    return max(1, min(4, len(os.sched_getaffinity(0))))


def _can_fork() -> bool:
    return sys.platform == "linux" and "fork" in multiprocessing.get_all_start_methods()


def _quiet_worker() -> None:
    """A forked worker never writes to the terminal: its standard streams go nowhere, so
    that a lock a progress thread held at the fork cannot block it, even at exit."""
    sys.stdout = sys.stderr = open(os.devnull, "w")


class WorkerPool:
    """Worker processes, started on first use; chunks come back in submission order."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.executor: ProcessPoolExecutor | None = None

    def results(self, job: Job, chunk_spans: Iterator[tuple[int, int, int]]) -> Iterator[Chunk]:
        if self.executor is None:
            # fork, not spawn or forkserver: those import the caller's __main__ again, which
            # breaks any script without a main guard; forking needs only this module.
            with warnings.catch_warnings():  # Python 3.12+ warns when threads (progress) exist
                warnings.simplefilter("ignore", DeprecationWarning)
                self.executor = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("fork"),
                                                    initializer=_quiet_worker)
        window: deque = deque()
        try:
            for span in chunk_spans:
                window.append(self.executor.submit(run_chunk, job, span))
                if len(window) > 2 * self.workers:  # bounded: the main process is the only reader
                    yield window.popleft().result()
            while window:
                yield window.popleft().result()
        except BrokenProcessPool as error:  # killed from outside, or out of memory
            self.executor = None
            raise RunError(f"a worker process reading {job.read['params']['path']} died: {error}",
                           hint="run again; with --workers 1 everything stays in one process") from error

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(cancel_futures=True)
            self.executor = None
