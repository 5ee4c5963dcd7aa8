"""Keyed hashing: every random decision is a pure function of
(seed, stage id, row identity), never of a shared RNG stream or arrival order.

An identity (a row's `source/row/part`, an example's `stage|row|phrasing`) is
hashed once to 8 bytes, `identity_key`. A stage derives its own 64-bit hash
seed from the recipe's seed and its id, `stage_seed`. The decision key is
`xxh3_64(identity key, seed=stage seed)`: a uniform 64-bit integer. Picking
phrasing i of n is `key % n`; sampling keeps the rows with the smallest keys.
Whatever the batch size, worker count or engine, the same row gets the same
number, so the same decisions.
"""

from __future__ import annotations

from xxhash import xxh3_64_digest, xxh3_64_intdigest, xxh3_128_hexdigest

_MASK = (1 << 64) - 1


def stage_seed(seed: int, stage: str) -> int:
    return xxh3_64_intdigest(stage.encode(), seed & _MASK)


def identity_key(identity: str) -> bytes:
    return xxh3_64_digest(identity.encode())


def keyed(seed: int, stage: str, identity: str) -> int:
    """The decision key of `identity` at `stage` (convenience form of the two steps)."""
    return xxh3_64_intdigest(identity_key(identity), stage_seed(seed, stage))


def pick(salt: int, key: bytes, choices: int) -> int:
    """Index of one of `choices` options for the identity `key` under a stage seed `salt`."""
    return xxh3_64_intdigest(key, salt) % choices if choices > 1 else 0


def id_of(example: dict) -> str:
    """An example's id: its identity key, 16 hex digits."""
    return format(example["_key"], "016x")


def by_quality(score: float, key: int, descending: bool) -> int:
    """An output-order key that sorts by score first (to 1/2^32), then by the keyed hash."""
    rank = 1.0 - score if descending else score
    return (round(min(max(rank, 0.0), 1.0) * 0xFFFFFFFF) << 32) | (key >> 32)


def repeat_key(example_key: int, epoch: int, salt: int) -> int:
    """The output-order key of the `epoch`-th repeat of an example (upsampling)."""
    return xxh3_64_intdigest(example_key.to_bytes(8, "big") + epoch.to_bytes(4, "big"), salt)


def content_hash(*parts: str) -> str:
    """xxh3_128 of the example's text fields, 32 hex digits."""
    return xxh3_128_hexdigest("\x1f".join(parts).encode())
