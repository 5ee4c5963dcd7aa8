"""The fast path of the `write` stage: examples pre-formatted into buckets by
their output-order key, so that writing is sequential.

While a mix collects its examples, each one is formatted for its first
output once and appended to one of `BUCKETS` files chosen by the top bits of
its output-order key. After selection, every bucket is read whole, its chosen
records are sorted by key and copied out: no random reads, no JSON parsing.
Memory holds one bucket at a time. Records are `key, pool, index, length`
(little-endian) followed by the formatted line.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

BUCKETS = 64
_SHIFT = 64 - BUCKETS.bit_length() + 1
_HEADER = struct.Struct("<QHII")


class OrderedSpill:
    def __init__(self, work_dir: Path) -> None:
        self.paths = [work_dir / f"ordered-{b:02d}.bin" for b in range(BUCKETS)]
        self.handles = [path.open("wb") for path in self.paths]

    def add(self, key: int, pool: int, index: int, line: bytes) -> None:
        self.handles[key >> _SHIFT].write(_HEADER.pack(key, pool, index, len(line)) + line)

    def close(self) -> None:
        for handle in self.handles:
            handle.close()

    def write(self, out, chosen: list[np.ndarray], extra: dict[int, list[tuple]]) -> int:
        """Copy the chosen records, bucket by bucket in key order, to the open file `out`.

        `chosen[pool][index]` says which first-epoch records were drawn; `extra`
        holds (key, pool, index, epoch, line) of repeats by bucket. Ties of the
        64-bit key are broken by (pool, index, epoch), as the slow path does.
        """
        written = 0
        for bucket, path in enumerate(self.paths):
            records = self._chosen(path.read_bytes(), chosen) + extra.get(bucket, [])
            records.sort(key=lambda r: r[:4])
            out.writelines(r[4] for r in records)
            written += len(records)
        return written

    @staticmethod
    def _chosen(data: bytes, chosen: list[np.ndarray]) -> list[tuple]:
        records, position, size = [], 0, _HEADER.size
        while position < len(data):
            key, pool, index, length = _HEADER.unpack_from(data, position)
            start = position + size
            position = start + length
            if chosen[pool][index]:
                records.append((key, pool, index, 0, data[start:position]))
        return records


def bucket_of(key: int) -> int:
    return key >> _SHIFT
