"""The `write` stage: examples in a deterministic shuffled order, in the
declared format, to a temporary file renamed into place.

The order is by keyed hash of (seed, write stage, example identity): a
shuffle that no batch size or worker count can change. The first output of a
mix is written from its ordered spill (sequential, pre-formatted); any other
output of the same mix reads its examples back one by one. Both give the
same order: by key, ties by (entry, arrival index, epoch).
"""

from __future__ import annotations

import contextlib
import heapq
from pathlib import Path

import numpy as np
import orjson
from xxhash import xxh3_64_intdigest

from .atomic_file import Written, write_atomically
from .format import format_example
from .ordered_spill import bucket_of
from .select import MixSelector, Pick, Picks


def order_picks(picks: Picks, selector: MixSelector, write_id: str) -> Picks:
    """Sort by the keyed output-order hash; repeats get keys salted with their epoch."""
    keys = np.empty(len(picks), dtype=np.uint64)
    for number, pool in enumerate(selector.pools):
        first = (picks.pool == number) & (picks.epoch == 0)
        keys[first] = np.frombuffer(pool.order_keys[write_id], dtype=np.uint64)[picks.index[first]]
    repeats = np.flatnonzero(picks.epoch > 0)
    if len(repeats):
        with _readers(selector) as readers:
            for n in repeats.tolist():
                pick = Pick(int(picks.pool[n]), int(picks.index[n]), int(picks.epoch[n]))
                keys[n] = selector.repeat_order_key(write_id, selector.read_example(pick, readers), pick.epoch)
    return picks.reordered(np.lexsort((picks.epoch, picks.index, picks.pool, keys)))  # ties by (pool, index, epoch)


def write_output(path: Path, picks: Picks, selector: MixSelector, params: dict) -> Written:
    """Write the picks in order to `path` atomically."""
    def fill(out) -> int:
        for pick in picks:
            out.write(format_example(selector.read_example(pick, readers), params, pick.epoch))
        return len(picks)

    with _readers(selector) as readers:
        return write_atomically(path, fill, sync=True)


def write_primary(path: Path, picks: Picks, selector: MixSelector, params: dict) -> Written:
    """The fast path for a mix's first output (see runtime/ordered_spill.py)."""
    write_id = selector.primary["id"]
    first = picks.epoch == 0
    chosen = [Picks(picks.pool[first], picks.index[first], picks.epoch[first]).taken(number, len(pool.keys))
              for number, pool in enumerate(selector.pools)]
    extra: dict[int, list[tuple]] = {}
    repeats = picks.reordered(np.flatnonzero(~first))
    if len(repeats):
        with _readers(selector) as readers:
            for pick in repeats:
                example = selector.read_example(pick, readers)
                key = selector.repeat_order_key(write_id, example, pick.epoch)
                line = format_example(example, params, pick.epoch)
                extra.setdefault(bucket_of(key), []).append((key, pick.pool, pick.index, pick.epoch, line))
    return write_atomically(path, lambda out: selector.ordered.write(out, chosen, extra), sync=True)


@contextlib.contextmanager
def _readers(selector: MixSelector):
    """A reader of each pool's JSON copy (kept when something reads examples back)."""
    readers = [pool.path.open("rb") if selector.keep_json else None for pool in selector.pools]
    try:
        yield readers
    finally:
        for reader in readers:
            if reader is not None:
                reader.close()


def write_review(output: Path, count: int, salt: int) -> tuple[Path, Written]:
    """A seeded sample of `count` lines of a written output, for expert review: the
    lines whose ids have the smallest keyed hashes, in that order, beside the output
    as `NAME.review.jsonl`."""
    with output.open("rb") as handle:
        keyed_lines = [(xxh3_64_intdigest(orjson.loads(line)["id"].encode(), salt), line) for line in handle]
    chosen = heapq.nsmallest(count, keyed_lines)
    review = output.with_name(output.name.removesuffix(".jsonl") + ".review.jsonl")
    return review, write_atomically(review, lambda out: out.writelines(line for _, line in chosen) or len(chosen),
                                     sync=True)
