"""Per-stage accounting and the rejects file.

Every stage counts rows in, rows out and drops by reason, and times itself.
Rejects are buffered per stage in their own spill file and concatenated in
plan order at the end, so rejects.jsonl is the same bytes whatever the batch
size (batching interleaves stages differently, never a stage's own order).
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import attrs
import orjson

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
    def __init__(self, work_dir: Path) -> None:
        self.work_dir = work_dir
        self.files: dict[str, object] = {}
        self.paths: dict[str, Path] = {}
        self.count = 0

    def add(self, stats: StageStats, rejects: list[Reject]) -> None:
        if not rejects:
            return
        handle = self._handle(stats.id)
        for reject in rejects:
            stats.dropped[reject.rule] += 1
            handle.write(orjson.dumps(reject.to_json()) + b"\n")
        self.count += len(rejects)

    def add_encoded(self, stats: StageStats, dropped: Counter, encoded: bytes) -> None:
        """Rejects already encoded as rejects.jsonl lines (by a worker process), with their rules."""
        if not encoded:
            return
        self._handle(stats.id).write(encoded)
        stats.dropped.update(dropped)
        self.count += sum(dropped.values())

    def positions(self) -> dict[str, int]:
        """How many bytes each stage has written so far (for the stage cache's deltas)."""
        for handle in self.files.values():
            handle.flush()
        return {stage_id: handle.tell() for stage_id, handle in self.files.items()}

    def written_since(self, since: dict[str, int]) -> dict[str, bytes]:
        """The bytes each stage wrote after `since` (from `positions`)."""
        now = self.positions()
        out = {}
        for stage_id, end in now.items():
            start = since.get(stage_id, 0)
            if end > start:
                with self.paths[stage_id].open("rb") as part:
                    part.seek(start)
                    out[stage_id] = part.read(end - start)
        return out

    def append(self, stage_id: str, encoded: bytes, count: int) -> None:
        """Rejects replayed from the stage cache (their stage's counts are replayed apart)."""
        if encoded:
            self._handle(stage_id).write(encoded)
            self.count += count

    def _handle(self, stage_id: str):
        handle = self.files.get(stage_id)
        if handle is None:
            path = self.work_dir / f"rejects-{len(self.files):04d}.jsonl"
            handle = self.files[stage_id] = path.open("wb")
            self.paths[stage_id] = path
        return handle

    def finish(self, stage_order: list[str], target: Path) -> None:
        """Concatenate the per-stage rejects in plan order into `target`."""
        for handle in self.files.values():
            handle.close()
        with target.open("wb") as out:
            for stage_id in stage_order:
                path = self.paths.get(stage_id)
                if path is not None:
                    with path.open("rb") as part:
                        while chunk := part.read(1 << 20):
                            out.write(chunk)
