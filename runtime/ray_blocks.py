"""What the Ray engine (runtime/ray_engine.py) runs inside Ray workers.

A row of the engine's Ray Data datasets is one *block*: records of one mix
entry's file, in file order, with five columns:

- `block`: the block's place in the stream, `entry << 40 | n` (the entry's
  index in the mix, then the block's number in its file), so that sorting by
  it gives the local engine's stream order (mix order, then file order);
- `last`: the last block of its entry (every entry has at least one block);
- `raw`: the payload holds rows just read, not examples yet;
- `payload`: a pickled dict: the rows or the examples, `items` (records read),
  and the `log` of what each stage did to them — rows in and out, seconds,
  and the rejects already encoded as lines of rejects.jsonl, with their
  counts by rule;
- `keys`: the 16-byte keys of the examples for the exact dedup that comes
  next (empty when none does), outside the payload so that the shuffle reads
  them without unpickling the examples.

Reading keeps the local row identities (source, row, part). A JSONL file is
cut at line starts into blocks of `batch_size` lines, each read by its own
task with `read_source(..., span=(start, end, first line))`, which numbers
rows from that line — so one big file is read in parallel, and each read task
goes on to render and filter its block. Any other format is read whole by one
task with `read_source`, which yields raw blocks of `batch_size` records for
the first `map_batches` to render and filter.

The stages run here are the local engine's code: `Renderer` and `Expander`,
and `make_processor` for the row-local filters. Exact dedup is split in two:
`cross_block_firsts`, on a Ray Data groupby over a hash partition of the
keys, finds for each block the keys whose first occurrence (the smallest
(block, index)) lies in an earlier block; `dedup_block` then runs the local
`ExactDedup` on the block with those keys already seen, which finds the rest
(duplicates within the block) and words its rejects exactly as locally.
"""

from __future__ import annotations

import functools
import itertools
import pickle
import time
from collections import Counter, OrderedDict
from pathlib import Path
from typing import Any, Iterator

import attrs
import numpy as np
import orjson
import pyarrow as pa
from ray.data.block import BlockMetadata
from ray.data.datasource import Datasource, ReadTask

from .processors import ExactDedup, make_processor
from .read_common import make_row_id
from .readers import read_source
from .records import Reject, SourceRow
from .render import Renderer

ENTRY_SHIFT = 40  # block number = entry << ENTRY_SHIFT | block within the entry
KEY_SIZE = 16
SCHEMA = pa.schema([("block", pa.int64()), ("last", pa.bool_()), ("raw", pa.bool_()),
                    ("payload", pa.large_binary()), ("keys", pa.large_binary())])


@attrs.frozen
class EntrySpec:
    """One mix entry: the file it reads and the stage that turns rows into examples."""

    index: int  # its place in the mix
    name: str
    read: dict  # the read stage
    transform: dict  # its render or expand stage
    union: str  # the union stage id
    root: str
    batch_size: int
    limit: int | None
    pool: list | None = None  # few-shot exemplar candidates, chosen on the driver
    expander: Shared | None = None  # an expansion, built on the driver (its input instances read there)
    spans: list | None = None  # (start, end, first line) of each block of a JSONL file; None: read whole

    @property
    def source(self) -> str:
        return self.read["id"].split(":", 1)[1]

    @property
    def path(self) -> Path:
        return Path(self.root) / self.read["params"]["path"]


class Shared:
    """A value put in the object store once by the driver, and fetched once per worker
    process (the last few are kept), rather than pickled into every task that needs it:
    decontaminate's n-gram index, an expansion's instances."""

    _fetched: "OrderedDict[str, Any]" = OrderedDict()

    def __init__(self, value: Any) -> None:
        import ray

        self.ref = ray.put(value)

    def get(self) -> Any:
        import ray

        key = self.ref.hex()
        fetched = Shared._fetched
        if key not in fetched:
            fetched[key] = ray.get(self.ref)
            while len(fetched) > 8:
                fetched.popitem(last=False)
        return fetched[key]


@attrs.define
class Block:
    number: int
    last: bool
    raw: bool
    payload: dict
    keys: bytes = b""


# -- encoding ----------------------------------------------------------------------


def log_entry(stage_id: str, rows_in: int, rows_out: int, seconds: float, rejects: list[Reject]) -> tuple:
    """What a stage did to a block, its rejects encoded as the local RejectSink writes them."""
    if not rejects:
        return stage_id, rows_in, rows_out, seconds, {}, b""
    lines = b"".join([orjson.dumps(r.to_json()) + b"\n" for r in rejects])
    return stage_id, rows_in, rows_out, seconds, dict(Counter(r.rule for r in rejects)), lines


def block_table(blocks: list[Block]) -> pa.Table:
    return pa.table({
        "block": pa.array([b.number for b in blocks], pa.int64()),
        "last": pa.array([b.last for b in blocks], pa.bool_()),
        "raw": pa.array([b.raw for b in blocks], pa.bool_()),
        "payload": pa.array([pickle.dumps(b.payload, protocol=pickle.HIGHEST_PROTOCOL) for b in blocks],
                            pa.large_binary()),
        "keys": pa.array([b.keys for b in blocks], pa.large_binary()),
    }, schema=SCHEMA)


def table_blocks(table: pa.Table) -> Iterator[Block]:
    columns = table.to_pydict()
    for number, last, raw, payload, keys in zip(columns["block"], columns["last"], columns["raw"],
                                                columns["payload"], columns["keys"]):
        yield Block(number, last, raw, pickle.loads(payload), keys)


# -- reading -------------------------------------------------------------------------


def line_spans(path: Path, lines: int) -> list[tuple[int, int, int]]:
    """(start, end, first line) of blocks of `lines` lines of a file, cut after newlines."""
    cuts, offset, seen = [], 0, 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 22):
            newlines = np.flatnonzero(np.frombuffer(chunk, dtype=np.uint8) == 10)
            first = (-seen - 1) % lines  # the index in `newlines` of the next cut's newline
            cuts.extend((offset + newlines[first::lines] + 1).tolist())
            seen += len(newlines)
            offset += len(chunk)
    starts = [0, *cuts]
    if starts[-1] >= offset and len(starts) > 1:
        starts.pop()  # the file ends with the last cut's newline
    ends = [*starts[1:], offset]
    return [(start, end, number * lines) for number, (start, end) in enumerate(zip(starts, ends))]


class EntryFiles(Datasource):
    """The mix's entries as read tasks: one per block of a JSONL file (which renders and
    filters its block too), one per whole file of another format (which yields raw blocks)."""

    def __init__(self, entries: list[EntrySpec], step: "BlockStep") -> None:
        self.entries = entries
        self.step = step

    def estimate_inmemory_data_size(self) -> int | None:
        return None

    def get_read_tasks(self, parallelism: int, per_task_row_limit: int | None = None,
                       data_context: Any = None) -> list[ReadTask]:
        tasks = []
        for entry in self.entries:
            meta = BlockMetadata(num_rows=None, size_bytes=None, exec_stats=None, input_files=[str(entry.path)])
            if entry.spans is None:
                tasks.append(ReadTask(functools.partial(read_whole, entry), meta))
                continue
            # each task carries its own span, not the entry's list of them
            one, last = attrs.evolve(entry, spans=None), len(entry.spans) - 1
            tasks += [ReadTask(functools.partial(read_span, one, self.step, number, span, number == last), meta)
                      for number, span in enumerate(entry.spans)]
        return tasks


def read_span(entry: EntrySpec, step: "BlockStep", number: int, span: tuple[int, int, int],
              last: bool) -> Iterator[pa.Table]:
    """One block of a JSONL file, read, rendered and filtered."""
    started = time.perf_counter()
    items = list(read_source(entry.read["params"], Path(entry.root), entry.read["id"], entry.source, span))
    rows = [item for item in items if item.__class__ is SourceRow]
    rejects = [item for item in items if item.__class__ is not SourceRow] if len(rows) < len(items) else []
    log = [log_entry(entry.read["id"], len(items), len(rows), time.perf_counter() - started, rejects)]
    block = Block(entry.index << ENTRY_SHIFT | number, last, False, {"items": len(items), "log": log})
    yield block_table([step.first(block, entry, rows)])


def read_whole(entry: EntrySpec) -> Iterator[pa.Table]:
    """A whole file as raw blocks of `batch_size` records (rows and read rejects), as the
    local engine batches it; the last says so, and an empty file is one empty block."""
    items = read_source(entry.read["params"], Path(entry.root), entry.read["id"], entry.source)
    if entry.limit is not None:
        items = itertools.islice(items, entry.limit)
    number, chunk, seconds = 0, *_chunk(items, entry.batch_size)
    while True:
        following, next_seconds = _chunk(items, entry.batch_size) if chunk else ([], 0.0)
        started = time.perf_counter()
        rows = [(r.id.row, r.id.part, r.fields, r.line) for r in chunk if r.__class__ is SourceRow]
        rejects = [r for r in chunk if r.__class__ is not SourceRow] if len(rows) < len(chunk) else []
        seconds += time.perf_counter() - started
        payload = {"rows": rows, "items": len(chunk),
                   "log": [log_entry(entry.read["id"], len(chunk), len(rows), seconds, rejects)]}
        yield block_table([Block(entry.index << ENTRY_SHIFT | number, not following, True, payload)])
        if not following:
            return
        chunk, seconds, number = following, next_seconds, number + 1


def _chunk(items: Iterator, size: int) -> tuple[list, float]:
    started = time.perf_counter()
    chunk = list(itertools.islice(items, size))
    return chunk, time.perf_counter() - started


# -- the row-local stages of a block, between two shuffles ----------------------------


@attrs.frozen
class BlockStep:
    """One pass over every block: [render or expand,] [exact dedup,] row-local filters,
    and the keys for the exact dedup that follows, if one does."""

    seed: int
    stages: list  # row-local filter stages, in chain order
    shipped: Shared | None  # stage id -> a processor built on the driver (decontaminate: its n-gram index)
    allowed_scorers: tuple
    entries: dict | None = None  # the first step renders or expands: EntrySpec by index
    dedup: dict | None = None  # this step starts with this exact dedup stage ...
    seeds: dict | None = None  # ... block -> its keys first seen in an earlier block
    next_dedup: dict | None = None  # compute the keys of this exact dedup stage

    def __call__(self, batch: pa.Table) -> pa.Table:
        if self.entries is not None and not any(batch.column("raw").to_pylist()):
            return batch  # blocks of a JSONL file were rendered and filtered by their read task
        out = []
        for block in table_blocks(batch):
            if block.raw:
                entry = self.entries[block.number >> ENTRY_SHIFT]
                source = entry.source
                rows = [SourceRow(make_row_id(source, row, part), fields, line)
                        for row, part, fields, line in block.payload.pop("rows")]
                out.append(self.first(block, entry, rows))
            elif self.entries is not None:
                out.append(block)
            else:
                examples = block.payload["examples"]
                if self.dedup is not None:
                    examples = dedup_block(self.dedup, block, (self.seeds or {}).get(block.number, b""))
                out.append(self._filter(block, examples))
        return block_table(out)

    def first(self, block: Block, entry: EntrySpec, rows: list[SourceRow]) -> Block:
        """Render or expand a block's rows, then the filters."""
        started = time.perf_counter()
        if entry.expander is not None:
            transform = entry.expander.get().expand
        else:
            renderer = Renderer(entry.transform, entry.name, self.seed)
            if entry.pool is not None:
                renderer.pool = entry.pool
            transform = renderer.render
        rejects: list[Reject] = []
        examples = transform(rows, rejects)
        log = block.payload["log"]
        log.append(log_entry(entry.transform["id"], len(rows), len(examples), time.perf_counter() - started, rejects))
        log.append(log_entry(entry.union, len(examples), len(examples), 0.0, []))
        return self._filter(block, examples)

    def _filter(self, block: Block, examples: list[dict]) -> Block:
        log = block.payload["log"]
        shipped = self.shipped.get() if self.shipped is not None else {}
        for stage in self.stages:
            processor = shipped.get(stage["id"]) or make_processor(stage, self.seed, None, self.allowed_scorers)
            rejects: list[Reject] = []
            started = time.perf_counter()
            kept = processor(examples, rejects)
            log.append(log_entry(stage["id"], len(examples), len(kept), time.perf_counter() - started, rejects))
            examples = kept
        block.payload["examples"] = examples
        keys = b"".join(map(ExactDedup(self.next_dedup).key, examples)) if self.next_dedup is not None else b""
        return Block(block.number, block.last, False, block.payload, keys)


def dedup_block(stage: dict, block: Block, seeds: bytes) -> list[dict]:
    """The local ExactDedup on a block's examples, their keys computed by the step before,
    knowing already the keys that an earlier block holds first; logged in the block."""
    started = time.perf_counter()
    keys = block.keys
    dedup = _KnownKeys(stage, [keys[i:i + KEY_SIZE] for i in range(0, len(keys), KEY_SIZE)])
    if seeds:
        dedup.seen.add_batch(seeds)
    examples = block.payload["examples"]
    rejects: list[Reject] = []
    kept = dedup.process(examples, rejects)
    block.payload["log"].append(log_entry(stage["id"], len(examples), len(kept), time.perf_counter() - started,
                                          rejects))
    block.payload["examples"] = kept
    return kept


class _KnownKeys(ExactDedup):
    """ExactDedup whose keys were computed earlier, in the order of the examples."""

    def __init__(self, stage: dict, keys: list[bytes]) -> None:
        super().__init__(stage)
        self._keys = iter(keys)

    def key(self, example: dict) -> bytes:
        return next(self._keys)


# -- the exact-dedup shuffle ------------------------------------------------------------


def explode_keys(batch: dict[str, np.ndarray], partitions: int) -> dict[str, np.ndarray]:
    """One row per example key: (part, hi, lo, block, index); `part` is a hash partition."""
    his, los, blocks, indices = [], [], [], []
    for block, keys in zip(batch["block"], batch["keys"]):
        pairs = np.frombuffer(keys, dtype=">u8").reshape(-1, 2)
        his.append(pairs[:, 0])
        los.append(pairs[:, 1])
        blocks.append(np.full(len(pairs), block, dtype=np.int64))
        indices.append(np.arange(len(pairs), dtype=np.int64))
    if not his:
        empty = np.empty(0, np.uint64)
        return {"part": np.empty(0, np.int64), "hi": empty, "lo": empty, "block": np.empty(0, np.int64),
                "index": np.empty(0, np.int64)}
    hi = np.concatenate(his).astype(np.uint64)
    return {"part": (hi % np.uint64(partitions)).astype(np.int64), "hi": hi,
            "lo": np.concatenate(los).astype(np.uint64), "block": np.concatenate(blocks),
            "index": np.concatenate(indices)}


def cross_block_firsts(group: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """For one hash partition of the keys: each (block, key) where the key's first
    occurrence — the smallest (block, index) — is in an earlier block."""
    hi, lo, block, index = group["hi"], group["lo"], group["block"], group["index"]
    order = np.lexsort((index, block, lo, hi))
    hi, lo, block = hi[order], lo[order], block[order]
    new_key = np.ones(len(hi), dtype=bool)
    new_key[1:] = (hi[1:] != hi[:-1]) | (lo[1:] != lo[:-1])
    first_block = block[new_key][np.cumsum(new_key) - 1]
    new_block = new_key.copy()
    new_block[1:] |= block[1:] != block[:-1]
    take = new_block & (block != first_block)
    return {"block": block[take], "hi": hi[take], "lo": lo[take]}


def seeds_by_block(batches: Iterator[dict[str, np.ndarray]]) -> dict[int, bytes]:
    """Gather the shuffle's answer on the driver: block -> its seeded keys, concatenated."""
    parts = [b for b in batches if len(b["block"])]
    if not parts:
        return {}
    block = np.concatenate([p["block"] for p in parts])
    pairs = np.empty((len(block), 2), dtype=">u8")
    pairs[:, 0] = np.concatenate([p["hi"] for p in parts])
    pairs[:, 1] = np.concatenate([p["lo"] for p in parts])
    order = np.argsort(block, kind="stable")
    block, pairs = block[order], pairs[order]
    starts = np.flatnonzero(np.r_[True, block[1:] != block[:-1]])
    ends = np.r_[starts[1:], len(block)]
    return {int(block[s]): pairs[s:e].tobytes() for s, e in zip(starts, ends)}
