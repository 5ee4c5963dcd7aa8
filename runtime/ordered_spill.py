"""The fast path of the `write` stage: examples pre-formatted into buckets by
their output-order key, so that writing is sequential.

While a mix collects its examples, each one is formatted for its first
output once and appended to one of `BUCKETS` files chosen by the top bits of
its output-order key; the key, the entry ("pool"), the arrival index and the
line's length stay in memory as compact arrays (22 bytes a line). After
selection, each bucket's chosen lines are sorted by key with numpy and copied
out: no random reads, no JSON parsing. Memory holds one bucket file at a time.
"""

from __future__ import annotations

import contextlib
import mmap
import os
from array import array
from pathlib import Path

import numpy as np

BUCKETS = 64
_SHIFT = 64 - BUCKETS.bit_length() + 1


class _Bucket:
    __slots__ = ("path", "handle", "keys", "pools", "indices", "lengths")

    def __init__(self, path: Path, writing: bool) -> None:
        self.path = path
        self.handle = path.open("wb") if writing else None
        self.keys, self.pools = array("Q"), array("H")
        self.indices, self.lengths = array("I"), array("I")

    def columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """keys, pools, indices and lengths as numpy views (no copies)."""
        return (np.frombuffer(self.keys, dtype=np.uint64), np.frombuffer(self.pools, dtype=np.uint16),
                np.frombuffer(self.indices, dtype=np.uint32), np.frombuffer(self.lengths, dtype=np.uint32))


class OrderedSpill:
    def __init__(self, work_dir: Path, writing: bool = True) -> None:
        """Empty buckets to write, or (`writing=False`) the files of a saved spill to read."""
        self.buckets = [_Bucket(work_dir / f"ordered-{b:02d}.jsonl", writing) for b in range(BUCKETS)]
        self.in_order = False  # each bucket file already in output order (`sort`)

    _COLUMNS = ("keys", "pools", "indices", "lengths")

    def arrays(self) -> dict[str, array]:
        """The in-memory columns, by name (to save beside the bucket files)."""
        return {f"b{n}.{name}": getattr(b, name) for n, b in enumerate(self.buckets) for name in self._COLUMNS}

    def load(self, arrays, in_order: bool) -> None:
        for n, bucket in enumerate(self.buckets):
            for name in self._COLUMNS:
                getattr(bucket, name).frombytes(arrays[f"b{n}.{name}"].tobytes())
        self.in_order = in_order

    def sort(self) -> None:
        """Rewrite each bucket file in output order, (key, pool, index), and its columns
        with it. The stage cache saves a mix's spill sorted, so that every run from the
        cache copies the chosen lines out as contiguous runs, with no sort."""
        self.adopt(self.sorted_copies())

    def sorted_copies(self) -> list:
        """`sort`'s work without touching the spill (a write may be reading it meanwhile):
        each bucket's lines in output order in a file beside it, and its columns so
        ordered. `adopt` puts them in place."""
        self.close()
        return [_sorted_copy(bucket) if bucket.keys else None for bucket in self.buckets]

    def adopt(self, copies: list) -> None:
        for bucket, copy in zip(self.buckets, copies):
            if copy is not None:
                scratch, columns = copy
                os.replace(scratch, bucket.path)
                for name, column in columns.items():
                    setattr(bucket, name, column)
        self.in_order = True

    def add_run(self, keys: list[int], pool: int, first: int, examples: list, fmt) -> None:
        """Spill `fmt(example)` for arrivals `first`, `first + 1`, ... of one pool."""
        lines, lengths = dumped(fmt, examples)
        self.add_lines(keys, pool, first, lines, lengths, range(len(keys)))

    def add_lines(self, keys: list[int], pool: int, first: int, lines, lengths: array, positions) -> None:
        """Spill formatted lines: line `positions[n]` of the buffer `lines` (whose line
        lengths are `lengths`) is arrival `first + n`. One write per bucket."""
        if not keys:
            return
        bounds = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(np.frombuffer(lengths, dtype=np.uint32), out=bounds[1:])
        where = np.arange(len(keys)) if isinstance(positions, range) else np.asarray(positions, dtype=np.int64)
        starts, ends = bounds[where], bounds[where + 1]
        key_array = np.array(keys, dtype=np.uint64)
        numbers = (key_array >> np.uint64(_SHIFT)).astype(np.int64)
        order = np.argsort(numbers, kind="stable")
        data = memoryview(lines)
        for group in np.split(order, np.flatnonzero(np.diff(numbers[order])) + 1):
            bucket = self.buckets[int(numbers[group[0]])]
            bucket.keys.frombytes(key_array[group].tobytes())
            bucket.pools.extend(array("H", [pool]) * len(group))
            bucket.indices.frombytes((group + first).astype(np.uint32).tobytes())
            bucket.lengths.frombytes((ends[group] - starts[group]).astype(np.uint32).tobytes())
            bucket.handle.write(b"".join([data[a:b] for a, b in zip(starts[group].tolist(), ends[group].tolist())]))

    def close(self) -> None:
        for bucket in self.buckets:
            if bucket.handle is not None:
                bucket.handle.close()

    def write(self, out, chosen: list[np.ndarray], extra: dict[int, list[tuple]]) -> int:
        """Copy the chosen lines, bucket by bucket in key order, to the open file `out`.

        `chosen[pool][index]` says which first-epoch lines were drawn; `extra`
        holds (key, pool, index, epoch, line) of repeats by bucket. Ties of the
        64-bit key are broken by (pool, index, epoch), as the slow path does.
        """
        written = 0
        for number, bucket in enumerate(self.buckets):
            repeats = extra.get(number)
            if repeats:  # rare (upsampling): merge them in with a general sort
                written += _write_merged(out, bucket, chosen, repeats)
                continue
            if not bucket.keys:
                continue
            with _mapped(bucket.path) as data:
                if self.in_order:
                    count, starts, ends = _chosen_runs(bucket, chosen)
                else:
                    order, starts, ends = _chosen_in_order(bucket, chosen)
                    count = len(order)
                # One joined copy and one write a bucket. Not writev of the slices: on the
                # writing thread, each system call hands the GIL over and waits to get it back.
                out.write(_gather(data, starts, ends))
            written += count
        return written


def _write_merged(out, bucket: _Bucket, chosen: list[np.ndarray], repeats: list[tuple]) -> int:
    """A bucket's chosen lines and its repeats, merged in key order."""
    order, starts, ends = _chosen_in_order(bucket, chosen)
    with _mapped(bucket.path) as data:
        records = [(int(bucket.keys[i]), bucket.pools[i], bucket.indices[i], 0, bytes(data[a:b]))
                   for i, a, b in zip(order, starts, ends)] + repeats
    records.sort(key=lambda record: record[:4])
    out.writelines(record[4] for record in records)
    return len(records)


def _sorted_copy(bucket: _Bucket) -> tuple[Path, dict[str, array]]:
    """A bucket's lines in output order, written beside its file, and its columns so ordered."""
    keys, pools, indices, lengths = bucket.columns()
    order = np.lexsort((indices, pools, keys))
    ends = np.cumsum(lengths, dtype=np.int64)
    scratch = bucket.path.with_name(bucket.path.name + ".sorted")
    with _mapped(bucket.path) as data:
        scratch.write_bytes(_gather(data, (ends - lengths)[order].tolist(), ends[order].tolist()))
    columns = zip(OrderedSpill._COLUMNS, (keys, pools, indices, lengths))
    return scratch, {name: array(getattr(bucket, name).typecode, column[order].tobytes()) for name, column in columns}


def _gather(data: memoryview, starts: list[int], ends: list[int]) -> bytes:
    return b"".join([data[a:b] for a, b in zip(starts, ends)])


@contextlib.contextmanager
def _mapped(path: Path):
    """A bucket file's bytes, mapped: only the pages of chosen lines are touched, and
    nothing is copied into a `bytes` first."""
    with path.open("rb") as handle:
        if os.fstat(handle.fileno()).st_size == 0:
            yield memoryview(b"")
            return
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            view = memoryview(mapped)
            try:
                yield view
            finally:
                view.release()


def _chosen_in_order(bucket: _Bucket, chosen: list[np.ndarray]) -> tuple[list, list, list]:
    """Positions in the bucket file of the chosen lines in key order, with their byte ranges."""
    if not bucket.keys:
        return [], [], []
    keys, pools, indices, lengths = bucket.columns()
    ends = np.cumsum(lengths, dtype=np.int64)
    starts = ends - lengths
    order = np.flatnonzero(_taken(bucket, chosen))
    order = order[np.lexsort((indices[order], pools[order], keys[order]))]
    return order.tolist(), starts[order].tolist(), ends[order].tolist()


def _chosen_runs(bucket: _Bucket, chosen: list[np.ndarray]) -> tuple[int, list, list]:
    """For a bucket file in output order: how many lines are chosen, and the byte
    ranges of the runs of consecutive chosen lines."""
    if not bucket.keys:
        return 0, [], []
    lengths = bucket.columns()[3]
    ends = np.cumsum(lengths, dtype=np.int64)
    lines = np.flatnonzero(_taken(bucket, chosen))
    if not len(lines):
        return 0, [], []
    breaks = np.flatnonzero(np.diff(lines) != 1) + 1
    firsts, lasts = lines[np.r_[0, breaks]], lines[np.r_[breaks - 1, len(lines) - 1]]
    return len(lines), (ends[firsts] - lengths[firsts]).tolist(), ends[lasts].tolist()


def _taken(bucket: _Bucket, chosen: list[np.ndarray]) -> np.ndarray:
    """Which of the bucket's lines were drawn (`chosen[pool][index]`)."""
    _, pools, indices, _ = bucket.columns()
    taken = np.zeros(len(pools), dtype=bool)
    for pool, mask in enumerate(chosen):
        here = pools == pool
        taken[here] = mask[indices[here]]
    return taken


def bucket_of(key: int) -> int:
    return key >> _SHIFT


def dumped(encode, items: list) -> tuple[bytes, array]:
    """`encode(item)` of each item, concatenated, and their lengths.

    Each piece goes into one buffer as it is made: keeping many freshly dumped
    `bytes` alive, even for a batch, costs several times the dumping itself
    (the allocator's large-block path; 1.2 against 0.14 µs a line measured)."""
    buffer, lengths = bytearray(), array("I")
    for item in items:
        data = encode(item)
        lengths.append(len(data))
        buffer += data
    return bytes(buffer), lengths
