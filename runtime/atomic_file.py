"""Files that appear whole or not at all.

A file is written beside its place as `.NAME.partial` and renamed into it
once complete, so a run killed midway leaves the old file or none, never half
of one. What goes through is hashed on the way (xxh3_128, as the manifest
records files), so nothing has to be read back to be proved.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import attrs
import xxhash


@attrs.frozen
class Written:
    """What a write put on disk: what `fill` counted (rows, lines), and the file's
    xxh3_128 and size, taken from the bytes as they were written."""

    rows: int
    xxh3_128: str
    bytes: int

    def facts(self) -> dict:
        return {"xxh3_128": self.xxh3_128, "bytes": self.bytes}


class _Hashing:
    """A file opened for writing that hashes what goes through it."""

    def __init__(self, handle) -> None:
        self.handle, self.digest, self.size = handle, xxhash.xxh3_128(), 0

    def write(self, data) -> None:
        self.digest.update(data)
        self.size += len(data)
        self.handle.write(data)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)


def write_atomically(path: Path, fill: Callable[[_Hashing], int], sync: bool = False) -> Written:
    """`fill(out)` writes the file and returns what it counted; the file appears only when
    whole (and, with `sync`, on the disk: the outputs, a dataset's reason to be)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.partial")
    try:
        with scratch.open("wb") as handle:
            out = _Hashing(handle)
            rows = fill(out)
            handle.flush()
            if sync:
                os.fsync(handle.fileno())
        os.replace(scratch, path)
    except BaseException:
        scratch.unlink(missing_ok=True)
        raise
    return Written(rows, out.digest.hexdigest(), out.size)


def write_text_atomically(path: Path, text: str) -> Written:
    return write_atomically(path, lambda out: out.write(text.encode("utf-8")) or 0)
