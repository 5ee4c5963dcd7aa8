"""The `write` stage: examples in a deterministic shuffled order, in the
declared format, to a temporary file renamed into place.

The order is by keyed hash of (seed, write stage, example identity): a
shuffle that no batch size or worker count can change. The first output of a
mix is written from its ordered spill (sequential, pre-formatted); any other
output of the same mix reads its examples back one by one. Both give the
same order: by key, ties by (entry, arrival index, epoch).
"""

from __future__ import annotations

import heapq
import os
from pathlib import Path

import numpy as np
import orjson
from xxhash import xxh3_64_intdigest

from .format import format_example
from .ordered_spill import bucket_of
from .select import MixSelector, Pick


def order_picks(picks: list[Pick], selector: MixSelector, write_id: str) -> list[Pick]:
    """Sort by the keyed output-order hash; repeats get keys salted with their epoch."""
    keys = np.empty(len(picks), dtype=np.uint64)
    readers = [pool.path.open("rb") if selector.keep_json else None for pool in selector.pools]
    try:
        for n, pick in enumerate(picks):
            pool = selector.pools[pick.pool]
            if pick.epoch == 0:
                keys[n] = pool.order_keys[write_id][pick.index]
            else:
                keys[n] = selector.repeat_order_key(write_id, selector.read_example(pick, readers), pick.epoch)
    finally:
        for reader in readers:
            if reader is not None:
                reader.close()
    epochs = np.array([p.epoch for p in picks], dtype=np.int64)
    indices = np.array([p.index for p in picks], dtype=np.int64)
    pools = np.array([p.pool for p in picks], dtype=np.int64)
    order = np.lexsort((epochs, indices, pools, keys))  # by key; ties by (pool, index, epoch)
    return [picks[i] for i in order]


def write_output(path: Path, picks: list[Pick], selector: MixSelector, params: dict) -> int:
    """Write the picks in order to `path` atomically; returns rows written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.partial")
    readers = [pool.path.open("rb") if selector.keep_json else None for pool in selector.pools]
    try:
        with scratch.open("wb") as out:
            for pick in picks:
                out.write(format_example(selector.read_example(pick, readers), params, pick.epoch))
            out.flush()
            os.fsync(out.fileno())
    finally:
        for reader in readers:
            if reader is not None:
                reader.close()
    os.replace(scratch, path)
    return len(picks)


def write_primary(path: Path, picks: list[Pick], selector: MixSelector, params: dict) -> int:
    """The fast path for a mix's first output (see runtime/ordered_spill.py)."""
    write_id = selector.primary["id"]
    chosen = [np.zeros(len(pool.keys), dtype=bool) for pool in selector.pools]
    extra: dict[int, list[tuple]] = {}
    readers = [pool.path.open("rb") if selector.keep_json else None for pool in selector.pools]
    try:
        for pick in picks:
            if pick.epoch == 0:
                chosen[pick.pool][pick.index] = True
                continue
            example = selector.read_example(pick, readers)
            key = selector.repeat_order_key(write_id, example, pick.epoch)
            line = format_example(example, params, pick.epoch)
            extra.setdefault(bucket_of(key), []).append((key, pick.pool, pick.index, pick.epoch, line))
    finally:
        for reader in readers:
            if reader is not None:
                reader.close()
    return _atomically(path, lambda out: selector.ordered.write(out, chosen, extra))


def _atomically(path: Path, fill) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.partial")
    with scratch.open("wb") as out:
        rows = fill(out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(scratch, path)
    return rows


def write_review(output: Path, count: int, salt: int) -> tuple[Path, int]:
    """A seeded sample of `count` lines of a written output, for expert review: the
    lines whose ids have the smallest keyed hashes, in that order, beside the output
    as `NAME.review.jsonl`."""
    with output.open("rb") as handle:
        keyed_lines = [(xxh3_64_intdigest(orjson.loads(line)["id"].encode(), salt), line) for line in handle]
    chosen = heapq.nsmallest(count, keyed_lines)
    review = output.with_name(output.name.removesuffix(".jsonl") + ".review.jsonl")
    return review, _atomically(review, lambda out: out.writelines(line for _, line in chosen) or len(chosen))
