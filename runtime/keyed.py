"""Keyed hashing: every random decision is a pure function of
(seed, stage id, row identity), never of a shared RNG stream or arrival order.

`keyed(seed, stage, identity)` is xxh3_64 of `stage \\0 identity` with the
recipe's seed as the hash seed: a uniform 64-bit integer. Picking phrasing i
of n is `keyed(...) % n`; sampling keeps the rows with the smallest keys.
Whatever the batch size, worker count or engine, the same row gets the same
number, so the same decisions.
"""

from __future__ import annotations

import xxhash

_MASK = (1 << 64) - 1


def keyed(seed: int, stage: str, identity: str) -> int:
    return xxhash.xxh3_64_intdigest(f"{stage}\0{identity}".encode(), seed & _MASK)


def pick(seed: int, stage: str, identity: str, choices: int) -> int:
    """Index of one of `choices` options, uniformly by keyed hash."""
    return keyed(seed, stage, identity) % choices if choices > 1 else 0


def example_id(identity: str) -> str:
    """A short stable id for an example: 16 hex digits of xxh3_64 of its identity."""
    return xxhash.xxh3_64_hexdigest(identity.encode())


def content_hash(*parts: str) -> str:
    """xxh3_128 of the example's text fields, 32 hex digits."""
    return xxhash.xxh3_128_hexdigest("\x1f".join(parts).encode())
