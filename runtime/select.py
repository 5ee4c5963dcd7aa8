"""The `mix` stage: keep, per entry, the rows with the smallest keyed hashes.

Examples that reach the mix are spilled to a file per entry (memory holds only
offsets and 64-bit selection keys), the allocation is solved on the counts
that survived filtering, and each entry keeps its `target` rows with the
smallest keys — a choice that depends on no order, batch or worker. An entry
asked for more rows than it has is repeated whole epochs, and the remainder is
drawn by keys salted with the epoch. What is not drawn is "unsampled".
"""

from __future__ import annotations

from array import array
from pathlib import Path

import attrs
import numpy as np
import orjson

from .errors import RunError
from .keyed import keyed
from .mixing import Allocation, allocate
from .records import Reject


@attrs.define
class Pool:
    """The spilled examples of one mix entry."""

    name: str
    path: Path
    handle: object = None
    offsets: array = attrs.field(factory=lambda: array("Q"))
    lengths: array = attrs.field(factory=lambda: array("I"))
    keys: array = attrs.field(factory=lambda: array("Q"))  # selection keys
    order_keys: dict = attrs.field(factory=dict)  # write stage id -> output-order keys, first epoch
    position: int = 0

    def read(self, index: int, reader) -> bytes:
        reader.seek(self.offsets[index])
        return reader.read(self.lengths[index])


@attrs.frozen
class Pick:
    pool: int
    index: int
    epoch: int


class MixSelector:
    def __init__(self, stage: dict, seed: int, work_dir: Path, write_ids: list[str]) -> None:
        self.stage = stage
        self.seed = seed
        self.write_ids = write_ids
        work_dir.mkdir(parents=True, exist_ok=True)
        self.pools = [Pool(e["name"], work_dir / f"pool-{i:03d}.jsonl") for i, e in enumerate(stage["params"]["entries"])]
        self.by_name = {p.name: i for i, p in enumerate(self.pools)}
        for pool in self.pools:
            pool.handle = pool.path.open("wb")
            pool.order_keys = {write_id: array("Q") for write_id in write_ids}

    def add(self, examples: list[dict]) -> None:
        stage_id = self.stage["id"]
        for example in examples:
            pool = self.pools[self.by_name[example["_entry"]]]
            data = orjson.dumps(example) + b"\n"
            pool.handle.write(data)
            pool.offsets.append(pool.position)
            pool.lengths.append(len(data))
            pool.keys.append(keyed(self.seed, stage_id, example["_identity"]))
            for write_id, keys in pool.order_keys.items():
                keys.append(keyed(self.seed, write_id, example["_identity"]))
            pool.position += len(data)

    def solve(self) -> Allocation:
        for pool in self.pools:
            pool.handle.close()
        available = {p.name: len(p.keys) for p in self.pools}
        allocation = allocate(self.stage["params"], available)
        if not allocation.feasible:
            raise RunError(f"mix `{self.stage['id'].split(':', 1)[1]}` cannot be built after filtering: "
                           f"{allocation.problem}",
                           hint="lower the share, allow repeats (`on_short = repeat`) or `on_short = shrink`")
        return allocation

    def picks(self, allocation: Allocation) -> list[Pick]:
        chosen: list[Pick] = []
        for number, (pool, entry) in enumerate(zip(self.pools, allocation.entries)):
            chosen.extend(self._pick(number, pool, entry.target))
        return chosen

    def _pick(self, number: int, pool: Pool, target: int) -> list[Pick]:
        size = len(pool.keys)
        if size == 0 or target == 0:
            return []
        epochs, remainder = divmod(target, size)
        picks = [Pick(number, i, e) for e in range(epochs) for i in range(size)]
        keys = np.frombuffer(pool.keys, dtype=np.uint64) if epochs == 0 else self._epoch_keys(pool, epochs)
        order = np.lexsort((np.arange(size), keys))[:remainder]  # smallest keys; ties by arrival
        picks.extend(Pick(number, int(i), epochs) for i in np.sort(order))
        return picks

    def _epoch_keys(self, pool: Pool, epoch: int) -> np.ndarray:
        """Fresh keys for a partial extra epoch, so it is not always the same prefix."""
        salt = f"{self.stage['id']}#epoch{epoch}"
        keys = array("Q")
        with pool.path.open("rb") as reader:
            for line in reader:
                keys.append(keyed(self.seed, salt, orjson.loads(line)["_identity"]))
        return np.frombuffer(keys, dtype=np.uint64)

    def unsampled(self, picks: list[Pick], batch: int = 4096):
        """Batches of rejects for the examples no pick took, pool by pool, in arrival order."""
        masks = [np.zeros(len(pool.keys), dtype=bool) for pool in self.pools]
        for pick in picks:
            masks[pick.pool][pick.index] = True
        for pool, taken in zip(self.pools, masks):
            if taken.all():
                continue
            rejects: list[Reject] = []
            with pool.path.open("rb") as reader:
                for index, line in enumerate(reader):
                    if not taken[index]:
                        rejects.append(_unsampled(self.stage["id"], orjson.loads(line)))
                    if len(rejects) >= batch:
                        yield rejects
                        rejects = []
            yield rejects


def _unsampled(stage_id: str, example: dict) -> Reject:
    prov = example["_prov"]
    return Reject(stage_id, "unsampled", f"not drawn for entry `{example['_entry']}`", example["_id"],
                  prov["source"], prov["row"], prov["part"])
