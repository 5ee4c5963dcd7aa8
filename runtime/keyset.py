"""A compact set of 16-byte dedup keys (xxh3_128 digests).

Exact dedup keeps the first row of every key, so its memory is one entry per
*distinct* key (DESIGN.md, principle 5). A Python ``set`` of 16-byte ``bytes``
costs ~100 bytes an entry (a 49-byte object plus the hash table); `KeySet`
costs 16-18 bytes a key (the keys, and 1-2 bytes a key of filters that spare
most lookups on the larger runs), plus a bounded buffer.

Layout, LSM style:

- **runs**: immutable numpy arrays of the keys, sorted, as two ``uint64``
  columns (``hi``: bytes 0-7, ``lo``: bytes 8-15, native byte order; the order
  only has to be the same within the process). The runs are disjoint, and each
  is more than ``merge_ratio`` times larger than the next one, so there are
  O(log n) of them. A new run is merged with the previous one while that
  invariant fails (``merge_ratio=8`` measured best for batches of 1k-64k keys:
  fewer runs to search, for some more merging). A merge of two sorted runs is
  linear (a lookup of the smaller run in the larger and two scatters), and
  builds the ``hi`` column before the ``lo`` one, so that it needs ~1.6x the
  memory of its inputs at its peak, not 2x. Single `add` calls look a key up
  in each run without building arrays (a few microseconds).
- a **prefix filter** on each run of 16k keys or more, built on its first
  lookup and carried through merges: one bit for each value of the top
  ``fbits`` bits of ``hi`` (8 to 16 bits a key, so 1-2 bytes a key), set when
  some key of the run starts with them (4 to 8 bits a key after merges, until
  the next rebuild). A key that is not in the run fails the filter 78-94% of
  the time, for ~4 ns; only the others, and the keys that are there, pay for
  ``np.searchsorted``: ~60 ns a key at 1M keys, ~250 ns at 4M, where its ~20
  steps miss the cache.
- **pending**: a Python set that receives the keys of single `add` calls, frozen
  into a run when it reaches ``run_size`` keys, or 1/16 of the keys already in
  runs if that is smaller (so that its ~100 bytes a key stay a small share of
  the total), or when `add_batch` is called.

`add_batch` is vectorized: it sorts the batch by ``hi`` (a stable sort, so that
the first of equal keys comes first), marks the first occurrence of each key,
looks the batch up in every run (the filter first, then the ``hi`` column,
then the ``lo`` column only where ``hi`` matched, which spares a cache miss a
key), and turns the keys it did not find into a new run. A batch of a few
keys goes through `add` instead.
Two different keys whose first 8 bytes are equal are handled exactly (a
lexicographic sort on both columns, a scan of the equal-``hi`` range), on a
slow path that random 128-bit digests essentially never take.

Whatever the batch sizes and however `add` and `add_batch` are mixed, the
answers are those of a Python set: a key is new the first time it is seen,
duplicates inside a batch included. Not thread-safe.
"""

from __future__ import annotations

import sys
from typing import Sequence, Union

import numpy as np

__all__ = ["KEY_SIZE", "KeySet"]

KEY_SIZE = 16
_U64 = np.dtype(np.uint64)
_BYTES_KEY_SIZE = sys.getsizeof(b"\0" * KEY_SIZE)  # 49 on 64-bit CPython
# A batch smaller than this goes through add(): the numpy path has a fixed cost
# of some tens of microseconds.
_SMALL_BATCH = 16
# pending is frozen at len(pending) >= max(_MIN_PENDING, keys in runs // 16)
_MIN_PENDING = 1024
# runs of at least _FILTER_MIN keys get a prefix filter
_FILTER_MIN = 1 << 14
# filters are built this many keys at a time
_CHUNK = 1 << 16

Keys = Union[Sequence[bytes], bytes, bytearray, memoryview]


def _columns(keys: Keys) -> tuple[np.ndarray, np.ndarray]:
    """(hi, lo) uint64 views of the keys; validates that every key has 16 bytes."""
    if isinstance(keys, (bytes, bytearray, memoryview)):
        buf = memoryview(keys).cast("B")
        if buf.nbytes % KEY_SIZE:
            raise ValueError(f"a key buffer must hold a multiple of {KEY_SIZE} bytes, not {buf.nbytes}")
        n = buf.nbytes // KEY_SIZE
    else:
        buf = b"".join(keys)
        n = len(keys)
        # all lengths >= 16 and a total of 16 n: every key is 16 bytes
        if len(buf) != KEY_SIZE * n or (n and min(map(len, keys)) != KEY_SIZE):
            raise ValueError(f"every key must be {KEY_SIZE} bytes")
    a = np.frombuffer(buf, dtype=_U64).reshape(n, 2)
    return a[:, 0], a[:, 1]


class _Run:
    """Distinct keys sorted by (hi, lo), and their prefix filter.

    ``ties``: some keys share their hi. ``filt``: for a run of ``_FILTER_MIN``
    keys or more (built on its first lookup, carried through merges), one bit
    for each value of the top ``fbits`` bits of hi, set when a key of the run
    starts with them. ``fbits`` is chosen so that there are 8 to 16 bits a key.
    """

    __slots__ = ("hi", "lo", "ties", "filt", "fbits")

    def __init__(self, hi: np.ndarray, lo: np.ndarray, ties: bool | None = None) -> None:
        self.hi = hi
        self.lo = lo
        self.ties = bool(np.any(hi[1:] == hi[:-1])) if ties is None else ties
        self.filt: np.ndarray | None = None
        self.fbits = 0

    def __len__(self) -> int:
        return len(self.hi)

    @property
    def nbytes(self) -> int:
        return self.hi.nbytes + self.lo.nbytes + (0 if self.filt is None else self.filt.nbytes)

    def found(self, hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
        """A mask: which of the keys (hi, lo) are in this run."""
        if self.filt is None:
            if len(self.hi) < _FILTER_MIN:
                return self._found(hi, lo)
            self.fbits = _filter_bits(len(self.hi))
            self.filt = _filter(self.fbits, self.hi)
        prefix = hi >> np.uint64(64 - self.fbits)
        maybe = self.filt[prefix >> np.uint64(3)] >> (prefix & np.uint64(7)).astype(np.uint8)
        maybe = np.flatnonzero(maybe & np.uint8(1))
        found = np.zeros(len(hi), dtype=bool)
        if len(maybe):
            found[maybe] = self._found(hi[maybe], lo[maybe])
        return found

    def contains(self, hi: int, lo: int) -> bool:
        """One key, without building arrays: a few microseconds."""
        filt = self.filt
        if filt is not None:
            prefix = hi >> (64 - self.fbits)
            if not (int(filt[prefix >> 3]) >> (prefix & 7)) & 1:
                return False
        run_hi = self.hi
        i = int(run_hi.searchsorted(np.uint64(hi)))  # a uint64, or numpy compares as float64
        if i == len(run_hi) or int(run_hi[i]) != hi:
            return False
        if int(self.lo[i]) == lo:
            return True
        if not self.ties:
            return False
        end = int(run_hi.searchsorted(np.uint64(hi), side="right"))
        j = i + int(self.lo[i:end].searchsorted(np.uint64(lo)))
        return j < end and int(self.lo[j]) == lo

    def _found(self, hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
        run_hi, run_lo = self.hi, self.lo
        pos = np.searchsorted(run_hi, hi)
        np.minimum(pos, len(run_hi) - 1, out=pos)
        same_hi = run_hi[pos] == hi
        # Look at lo only where hi matched: for new keys that is almost never,
        # and gathering lo at every position costs a cache miss a key.
        hit = np.flatnonzero(same_hi)
        found = np.zeros(len(hi), dtype=bool)
        found[hit] = run_lo[pos[hit]] == lo[hit]
        if self.ties:
            # pos is the first key with that hi; the one with the right lo may
            # come later in the equal-hi range (sorted by lo)
            for i in np.flatnonzero(same_hi & ~found).tolist():
                start = int(pos[i])
                end = int(np.searchsorted(run_hi, hi[i], side="right"))
                j = start + int(np.searchsorted(run_lo[start:end], lo[i]))
                found[i] = j < end and run_lo[j] == lo[i]
        return found


def _filter_bits(n: int) -> int:
    """Prefix bits for a filter of n keys: 2**fbits is 8n to 16n bits (1-2 bytes a
    key), so that a key not in the run passes it 6-12% of the time."""
    return min(64, max(3, n.bit_length() + 3))


def _filter(fbits: int, hi: np.ndarray, filt: np.ndarray | None = None) -> np.ndarray:
    """Set the bits of hi's prefixes in filt (a new, empty filter if None)."""
    if filt is None:
        filt = np.zeros(1 << (fbits - 3), dtype=np.uint8)
    shift = np.uint64(64 - fbits)
    for start in range(0, len(hi), _CHUNK):  # bounded temporaries
        prefix = hi[start : start + _CHUNK] >> shift
        bits = np.left_shift(np.uint8(1), (prefix & np.uint64(7)).astype(np.uint8))
        np.bitwise_or.at(filt, prefix >> np.uint64(3), bits)
    return filt


def _merge(a: _Run, b: _Run) -> _Run:
    """The union of two disjoint runs, sorted by (hi, lo). Consumes a and b.

    When ``a`` has a filter fine enough for the union (not more than 2x
    coarser than a new one would be), the union gets a copy with b's keys
    added; otherwise its next lookup builds one.
    """
    filt = None
    if a.filt is not None and a.fbits >= _filter_bits(len(a) + len(b)) - 1:
        filt = _filter(a.fbits, b.hi, a.filt.copy())
    if not (a.ties or b.ties):
        pos = np.searchsorted(a.hi, b.hi)
        if not np.any(a.hi[np.minimum(pos, len(a) - 1)] == b.hi):
            # every key of b goes before the keys of a with a larger hi
            pos += np.arange(len(b))
            taken = np.zeros(len(a) + len(b), dtype=bool)
            taken[pos] = True
            np.logical_not(taken, out=taken)  # now: the slots of a
            hi = np.empty(len(taken), dtype=_U64)
            hi[pos] = b.hi
            hi[taken] = a.hi
            a.hi = b.hi = None  # type: ignore[assignment]  # free before building lo
            lo = np.empty(len(taken), dtype=_U64)
            lo[pos] = b.lo
            lo[taken] = a.lo
            a.lo = b.lo = None  # type: ignore[assignment]
            run = _Run(hi, lo, ties=False)
        else:
            run = None
    else:
        run = None
    if run is None:
        hi = np.concatenate((a.hi, b.hi))
        lo = np.concatenate((a.lo, b.lo))
        order = np.lexsort((lo, hi))
        run = _Run(hi[order], lo[order])
    if filt is not None:
        run.filt, run.fbits = filt, a.fbits
    return run


class KeySet:
    """A set of 16-byte keys at ~16 bytes a key, with first-wins `add`.

    ``run_size``: how many keys single `add` calls buffer in a Python set before
    freezing them into a sorted run (small values exercise the merging in
    tests). ``merge_ratio``: a run is merged into the previous one unless that
    one is more than ``merge_ratio`` times larger; larger ratios mean fewer
    runs to search and more merging.
    """

    __slots__ = ("_runs", "_pending", "_len", "_run_size", "_merge_ratio")

    def __init__(self, run_size: int = 1 << 16, merge_ratio: int = 8) -> None:
        if run_size < 1:
            raise ValueError("run_size must be at least 1")
        if merge_ratio < 1:
            raise ValueError("merge_ratio must be at least 1")
        self._runs: list[_Run] = []
        self._pending: set[bytes] = set()
        self._len = 0
        self._run_size = run_size
        self._merge_ratio = merge_ratio

    # -- queries --------------------------------------------------------------

    def __len__(self) -> int:
        return self._len

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, (bytes, bytearray, memoryview)):
            return False
        key = bytes(key)
        if len(key) != KEY_SIZE:
            return False
        return key in self._pending or self._in_runs(key)

    @property
    def nbytes(self) -> int:
        """The memory held: the runs' arrays, and the pending set with its keys."""
        runs = sum(run.nbytes for run in self._runs)
        return runs + sys.getsizeof(self._pending) + len(self._pending) * _BYTES_KEY_SIZE

    @property
    def run_sizes(self) -> tuple[int, ...]:
        """The sizes of the sorted runs, oldest (largest) first; for diagnostics."""
        return tuple(len(run) for run in self._runs)

    @property
    def pending(self) -> int:
        """How many keys wait in the pending set; for diagnostics."""
        return len(self._pending)

    # -- updates --------------------------------------------------------------

    def add(self, key: bytes) -> bool:
        """Add one key; True if it was not in the set yet."""
        if type(key) is not bytes:
            if not isinstance(key, (bytearray, memoryview)):
                raise TypeError(f"a key is bytes, not {type(key).__name__}")
            key = bytes(key)
        if len(key) != KEY_SIZE:
            raise ValueError(f"every key must be {KEY_SIZE} bytes, not {len(key)}")
        pending = self._pending
        if key in pending or (self._runs and self._in_runs(key)):
            return False
        pending.add(key)
        self._len += 1
        if len(pending) >= min(self._run_size, max(_MIN_PENDING, (self._len - len(pending)) >> 4)):
            self._freeze_pending()
        return True

    def add_batch(self, keys: Keys) -> list[bool]:
        """Add the keys in order; for each, True if it was new.

        Exactly ``[self.add(k) for k in keys]``: of equal keys in the batch only
        the first is new. ``keys`` is a sequence of 16-byte ``bytes``, or one
        bytes-like buffer of concatenated keys (no copy of each key then, and
        no per-key length check). Fastest from a few thousand keys a batch.
        """
        if not isinstance(keys, (bytes, bytearray, memoryview, list, tuple)):
            keys = list(keys)
        hi, lo = _columns(keys)
        n = len(hi)
        if n < _SMALL_BATCH:
            if isinstance(keys, (bytes, bytearray, memoryview)):
                buf = bytes(keys)
                keys = [buf[i : i + KEY_SIZE] for i in range(0, len(buf), KEY_SIZE)]
            return [self.add(key) for key in keys]
        if self._pending:
            self._freeze_pending()

        # Sort the batch by hi, stably: the first of equal keys comes first.
        order = np.argsort(hi, kind="stable")
        s_hi = hi[order]
        s_lo = lo[order]
        same_hi = s_hi[1:] == s_hi[:-1]
        same = same_hi & (s_lo[1:] == s_lo[:-1])
        if not np.array_equal(same, same_hi):
            # two different keys share their hi: sort by (hi, lo, position)
            order = np.lexsort((np.arange(n), lo, hi))
            s_hi = hi[order]
            s_lo = lo[order]
            same = (s_hi[1:] == s_hi[:-1]) & (s_lo[1:] == s_lo[:-1])
        new = np.empty(n, dtype=bool)
        new[0] = True
        np.logical_not(same, out=new[1:])
        for run in self._runs:
            new &= ~run.found(s_hi, s_lo)

        added = int(np.count_nonzero(new))
        if added:
            self._len += added
            self._push(_Run(s_hi[new], s_lo[new]))
        mask = np.empty(n, dtype=bool)
        mask[order] = new
        return mask.tolist()

    # -- internals ------------------------------------------------------------

    def _in_runs(self, key: bytes) -> bool:
        hi = int.from_bytes(key[:8], sys.byteorder)  # as the uint64 columns read it
        lo = int.from_bytes(key[8:], sys.byteorder)
        return any(run.contains(hi, lo) for run in self._runs)

    def _freeze_pending(self) -> None:
        hi, lo = _columns(list(self._pending))
        self._pending = set()
        order = np.lexsort((lo, hi))
        self._push(_Run(hi[order], lo[order]))

    def _push(self, run: _Run) -> None:
        runs = self._runs
        runs.append(run)
        while len(runs) >= 2 and len(runs[-2]) <= self._merge_ratio * len(runs[-1]):
            newer = runs.pop()
            older = runs.pop()
            runs.append(_merge(older, newer))

    def __repr__(self) -> str:
        return f"KeySet({self._len} keys, {len(self._runs)} runs, {self.nbytes} bytes)"
