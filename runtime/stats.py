"""Per-stage accounting and the rejects file.

Every stage counts rows in, rows out and drops by reason, and times itself.
Rejects are buffered per stage in their own spill file and concatenated in
plan order at the end, so rejects.jsonl is the same bytes whatever the batch
size (batching interleaves stages differently, never a stage's own order).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path
from typing import BinaryIO

import attrs
import orjson

from .atomic_file import write_atomically
from .records import Reject


@attrs.define
class StageStats:
    id: str
    op: str
    rows_in: int = 0
    rows_out: int = 0
    dropped: Counter = attrs.field(factory=Counter)
    seconds: float = 0.0
    cache: str | None = None  # with the stage cache: reused or computed

    def to_json(self) -> dict:
        out = {"id": self.id, "op": self.op, "rows_in": self.rows_in, "rows_out": self.rows_out,
               "dropped": dict(sorted(self.dropped.items())), "seconds": round(self.seconds, 6)}
        if self.cache is not None:
            out["cache"] = self.cache
        return out


class Timer:
    """`with Timer(stats): ...` adds the elapsed time to a stage."""

    def __init__(self, stats: StageStats) -> None:
        self.stats = stats

    def __enter__(self) -> None:
        self.start = time.perf_counter()

    def __exit__(self, *exc) -> None:
        self.stats.seconds += time.perf_counter() - self.start


class RejectSink:
    """Each stage's rejects as a list of byte ranges, in the order they came: ranges of
    the stage's own spill file, and ranges of stage-cache files replayed in place (a
    cached unit's rejects are copied once, into rejects.jsonl, not twice)."""

    def __init__(self, work_dir: Path) -> None:
        self.work_dir = work_dir
        self.files: dict[str, BinaryIO] = {}  # stage id -> its own spill file
        self.pieces: dict[str, list[tuple[BinaryIO, int, int]]] = {}  # stage id -> (file, start, end)
        self.borrowed: list[BinaryIO] = []  # stage-cache files, open for reading
        self.sizes: dict[str, tuple[int, int]] = {}  # stage id -> bytes and lines so far
        self.count = 0

    def add(self, stats: StageStats, rejects: list[Reject]) -> None:
        if not rejects:
            return
        for reject in rejects:
            stats.dropped[reject.rule] += 1
        self._write(stats.id, b"".join([orjson.dumps(r.to_json(), option=orjson.OPT_APPEND_NEWLINE)
                                        for r in rejects]), len(rejects))

    def add_encoded(self, stats: StageStats, dropped: Counter, encoded: bytes) -> None:
        """Rejects already encoded as rejects.jsonl lines (by a worker process), with their rules."""
        if not encoded:
            return
        self._write(stats.id, encoded, sum(dropped.values()))
        stats.dropped.update(dropped)

    def borrow(self, handle: BinaryIO) -> BinaryIO:
        """Keep `handle` (a stage-cache file) open until the rejects are written: its
        ranges are read only then, and a `cache gc` meanwhile cannot take them away."""
        self.borrowed.append(handle)
        return handle

    def append(self, stage_id: str, handle: BinaryIO, start: int, end: int, count: int) -> None:
        """Rejects replayed from the stage cache: bytes `start:end` of a borrowed file,
        `count` lines (their stage's counts are replayed apart)."""
        if end > start:
            self._piece(stage_id, handle, start, end, count)

    def positions(self) -> dict[str, tuple[int, int]]:
        """The bytes and lines each stage has so far (for the stage cache's deltas)."""
        return dict(self.sizes)

    def copy_since(self, since: dict[str, tuple[int, int]], out: BinaryIO,
                   only: set[str] | None = None) -> list[tuple[str, int, int]]:
        """Copy to `out` what each stage (of `only`, if given) gained after `since` (from
        `positions`); returns (stage, bytes, lines) for each stage copied, in order."""
        copied = []
        for stage_id, pieces in self.pieces.items():
            size, lines = self.sizes[stage_id]
            size_then, lines_then = since.get(stage_id, (0, 0))
            if size == size_then or (only is not None and stage_id not in only):
                continue
            skip = size_then
            for handle, start, end in pieces:
                if skip >= end - start:
                    skip -= end - start
                    continue
                _copy_range(handle, start + skip, end, out)
                skip = 0
            copied.append((stage_id, size - size_then, lines - lines_then))
        return copied

    def finish(self, stage_order: list[str], target: Path) -> dict:
        """Concatenate the per-stage rejects in plan order into `target`; returns its
        xxh3_128, bytes and lines, taken while copying."""
        def fill(out) -> int:
            lines = 0
            for stage_id in stage_order:
                for handle, start, end in self.pieces.get(stage_id, ()):
                    for chunk in _chunks(handle, start, end):
                        lines += chunk.count(b"\n")
                        out.write(chunk)
            return lines

        written = write_atomically(target, fill)
        self.close()
        return {**written.facts(), "lines": written.rows}

    def close(self) -> None:
        for handle in [*self.files.values(), *self.borrowed]:
            handle.close()

    def _write(self, stage_id: str, data: bytes, lines: int) -> None:
        handle = self.files.get(stage_id)
        if handle is None:
            handle = self.files[stage_id] = (self.work_dir / f"rejects-{len(self.files):04d}.jsonl").open("w+b")
        start = handle.tell()
        handle.write(data)
        self._piece(stage_id, handle, start, start + len(data), lines)

    def _piece(self, stage_id: str, handle: BinaryIO, start: int, end: int, lines: int) -> None:
        pieces = self.pieces.setdefault(stage_id, [])
        if pieces and pieces[-1][0] is handle and pieces[-1][2] == start:
            pieces[-1] = (handle, pieces[-1][1], end)  # the same file, contiguous: one range
        else:
            pieces.append((handle, start, end))
        size, count = self.sizes.get(stage_id, (0, 0))
        self.sizes[stage_id] = (size + end - start, count + lines)
        self.count += lines


_CHUNK = 1 << 22


def _chunks(handle: BinaryIO, start: int, end: int):
    """Bytes `start:end` of `handle`, in chunks (a spill file still being written is flushed first)."""
    for at in range(start, end, _CHUNK):
        yield _read_range(handle, at, min(end, at + _CHUNK))


def _read_range(handle: BinaryIO, start: int, end: int) -> bytes:
    if handle.writable():
        handle.flush()
    position = handle.tell()
    handle.seek(start)
    data = handle.read(end - start)
    handle.seek(position)  # a spill file goes on being appended to
    return data


def _copy_range(handle: BinaryIO, start: int, end: int, out: BinaryIO) -> None:
    """Bytes `start:end` of `handle` appended to `out`: by the kernel where it can
    (copy_file_range), else through memory."""
    if handle.writable():
        handle.flush()
    out.flush()
    at = start
    if hasattr(os, "copy_file_range"):
        try:
            while at < end:
                done = os.copy_file_range(handle.fileno(), out.fileno(), end - at, at)
                if done == 0:
                    break
                at += done
        except OSError:  # not between these file systems: copy through memory
            pass
    out.seek(0, os.SEEK_END)  # copy_file_range moved the file offset, not `out`'s idea of it
    for chunk in _chunks(handle, at, end):
        out.write(chunk)
