"""The `mix` stage: keep, per entry, the rows with the smallest keyed hashes.

The examples that reach a mix are not held in memory. Per entry ("pool") the
selector keeps only fixed-size arrays: each example's identity key, source
row and part, and its selection and output-order keys (about 40 bytes an
example). The example itself goes to the first output's ordered spill, already
formatted (runtime/ordered_spill.py); a full JSON copy is kept on disk only
when something needs to read an example back: a second output of the same
mix, or repeats (`on_short = repeat`).

After the stream ends, the allocation is solved on the counts that survived
filtering and each entry keeps its `target` rows with the smallest keys — a
choice that depends on no order, batch or worker. An entry asked for more rows
than it has is repeated whole epochs, and the remainder is drawn by keys salted
with the epoch. What is not drawn is "unsampled".
"""

from __future__ import annotations

import itertools
import json
import math
from array import array
from collections import Counter
from pathlib import Path
from typing import Iterator, NamedTuple

import attrs
import numpy as np
import orjson
from xxhash import xxh3_64_intdigest

from .diversity import VerbIds
from .errors import RunError
from .format import first_epoch_formatter
from .keyed import by_quality, repeat_key, stage_seed
from .mixing import Allocation, allocate
from .ordered_spill import OrderedSpill
from .records import Provenance


@attrs.define
class Pool:
    """What the selector remembers of one mix entry's examples, by arrival index."""

    name: str
    path: Path
    source: str | None = None  # an entry reads one source
    identity: array = attrs.field(factory=lambda: array("Q"))  # example identity keys (ids)
    rows: array = attrs.field(factory=lambda: array("q"))
    parts: array = attrs.field(factory=lambda: array("q"))
    keys: array = attrs.field(factory=lambda: array("Q"))  # selection keys
    verbs: array = attrs.field(factory=lambda: array("I"))  # leading verb ids (runtime/diversity.py)
    categories: array = attrs.field(factory=lambda: array("I"))  # ids of the `balance` field's values
    order_keys: dict = attrs.field(factory=dict)  # write stage id -> output-order keys, first epoch
    handle: object = None  # the JSON copy, when kept
    offsets: array = attrs.field(factory=lambda: array("Q"))
    position: int = 0

    def read(self, index: int, reader) -> bytes:
        reader.seek(self.offsets[index])
        end = self.offsets[index + 1] if index + 1 < len(self.offsets) else self.position
        return reader.read(end - self.offsets[index])


class Pick(NamedTuple):
    pool: int
    index: int
    epoch: int


class Picks:
    """The drawn examples as three arrays (a million picks as tuples cost ~100 MB):
    entry ("pool"), arrival index and epoch. Iterating gives `Pick`s."""

    __slots__ = ("pool", "index", "epoch")

    def __init__(self, pool: np.ndarray, index: np.ndarray, epoch: np.ndarray) -> None:
        self.pool, self.index, self.epoch = pool, index, epoch

    @classmethod
    def join(cls, parts: list["Picks"]) -> "Picks":
        if not parts:
            return cls(*(np.zeros(0, dtype=np.int64) for _ in range(3)))
        return cls(*(np.concatenate([getattr(p, name) for p in parts]) for name in cls.__slots__))

    @classmethod
    def of(cls, picks: list[Pick]) -> "Picks":
        arrays = np.array(picks, dtype=np.int64).reshape(-1, 3)
        return cls(arrays[:, 0].copy(), arrays[:, 1].copy(), arrays[:, 2].copy())

    def __len__(self) -> int:
        return len(self.pool)

    def __iter__(self):
        return map(Pick._make, zip(self.pool.tolist(), self.index.tolist(), self.epoch.tolist()))

    def taken(self, number: int, size: int) -> np.ndarray:
        """A mask over pool `number`'s arrivals: drawn at least once."""
        mask = np.zeros(size, dtype=bool)
        mask[self.index[self.pool == number]] = True
        return mask

    def reordered(self, order: np.ndarray) -> "Picks":
        return Picks(self.pool[order], self.index[order], self.epoch[order])


class MixSelector:
    def __init__(self, stage: dict, seed: int, work_dir: Path, writes: list[dict], restoring: bool = False) -> None:
        self.stage = stage
        self.seed = seed
        work_dir.mkdir(parents=True, exist_ok=True)
        entries = stage["params"]["entries"]
        self.pools = [Pool(e["name"], work_dir / f"pool-{i:03d}.jsonl") for i, e in enumerate(entries)]
        self.by_name = {p.name: i for i, p in enumerate(self.pools)}
        self.salt = stage_seed(seed, stage["id"])
        self.order_salts = {w["id"]: stage_seed(seed, w["id"]) for w in writes}
        # writes ordered by quality: write id -> descending
        self.by_quality = {w["id"]: w["params"]["order"]["descending"] for w in writes
                           if w["params"]["order"]["by"] == "quality"}
        self.primary = writes[0] if writes else None
        self.format_first = first_epoch_formatter(self.primary["params"]) if writes else None
        self.ordered = OrderedSpill(work_dir, writing=not restoring) if writes else None
        self.keep_json = keeps_json(stage, writes)
        self.verb_ids = VerbIds()
        self.short: dict[str, int] = {}  # entries left short by a cap
        self.balance = stage["params"].get("balance")
        self.category_ids: dict[str, int] = {}
        for pool in self.pools:
            pool.order_keys = {w["id"]: array("Q") for w in writes}
            if self.keep_json and not restoring:
                pool.handle = pool.path.open("wb")

    # -- saved in the stage cache (runtime/stage_cache.py) ------------------------

    _COLUMNS = ("identity", "rows", "parts", "keys", "verbs", "categories", "offsets")

    def save(self, folder: Path) -> None:
        """What the mix collected, beside the pool and spill files already in `folder`."""
        self.close()
        arrays = {f"p{n}.{name}": getattr(pool, name) for n, pool in enumerate(self.pools) for name in self._COLUMNS}
        for n, pool in enumerate(self.pools):
            arrays.update({f"p{n}.order{w}": keys for w, keys in enumerate(pool.order_keys.values())})
        if self.ordered is not None:
            if not self.ordered.in_order:
                self.ordered.sort()
            arrays.update(self.ordered.arrays())
        np.savez(folder / "arrays.npz", **{name: np.frombuffer(a, dtype=a.typecode) for name, a in arrays.items()})
        state = {"pools": [{"source": p.source, "position": p.position} for p in self.pools],
                 "verbs": list(self.verb_ids.ids), "categories": list(self.category_ids),
                 "in_order": self.ordered is not None and self.ordered.in_order}
        (folder / "state.json").write_text(json.dumps(state, ensure_ascii=False))

    @classmethod
    def restore(cls, stage: dict, seed: int, folder: Path, writes: list[dict]) -> "MixSelector":
        """A selector as `save` left it: ready to solve, pick and write."""
        selector = cls(stage, seed, folder, writes, restoring=True)
        state = json.loads((folder / "state.json").read_text())
        with np.load(folder / "arrays.npz") as arrays:
            for n, (pool, saved) in enumerate(zip(selector.pools, state["pools"])):
                pool.source, pool.position = saved["source"], saved["position"]
                for name in cls._COLUMNS:
                    getattr(pool, name).frombytes(arrays[f"p{n}.{name}"].tobytes())
                for w, keys in enumerate(pool.order_keys.values()):
                    keys.frombytes(arrays[f"p{n}.order{w}"].tobytes())
            if selector.ordered is not None:
                selector.ordered.load(arrays, state["in_order"])
        selector.verb_ids.ids.update((verb, n) for n, verb in enumerate(state["verbs"]))
        selector.category_ids.update((value, n) for n, value in enumerate(state["categories"]))
        return selector

    def add(self, examples: list[dict]) -> None:
        """Remember a batch, column by column: one run of examples of the same entry at a time."""
        start = 0
        while start < len(examples):
            entry = examples[start]["_entry"]
            end = start + 1
            while end < len(examples) and examples[end]["_entry"] == entry:
                end += 1
            self._add_run(self.by_name[entry], examples[start:end] if start or end < len(examples) else examples)
            start = end

    def _add_run(self, number: int, run: list[dict]) -> None:
        pool = self.pools[number]
        first = len(pool.keys)
        ids = [e["_key"] for e in run]
        provs = [e["_prov"] for e in run]
        pool.source = provs[-1].source
        pool.identity.extend(ids)
        pool.rows.extend([p.row for p in provs])
        pool.parts.extend([p.part for p in provs])
        verb_id = self.verb_ids
        pool.verbs.extend([verb_id(e["instruction"]) for e in run])
        if self.balance is not None:
            field, ids_of = self.balance["field"], self.category_ids
            pool.categories.extend([ids_of.setdefault(v, len(ids_of)) for v in
                                    (json_text(e["_carry"].get(field)) for e in run)])
        packed = [i.to_bytes(8, "big") for i in ids]
        salt = self.salt
        pool.keys.extend([xxh3_64_intdigest(b, salt) for b in packed])
        for write_id, keys in pool.order_keys.items():
            salt = self.order_salts[write_id]
            order = [xxh3_64_intdigest(b, salt) for b in packed]
            if write_id in self.by_quality:
                descending = self.by_quality[write_id]
                order = [by_quality(e.get("_score", 0.0), k, descending) for e, k in zip(run, order)]
            keys.extend(order)
            if self.primary is not None and write_id == self.primary["id"]:
                self.ordered.add_run(order, number, first, run, self.format_first)
        if self.keep_json:
            for example in run:
                data = orjson.dumps(example, default=list) + b"\n"  # Provenance -> list
                pool.handle.write(data)
                pool.offsets.append(pool.position)
                pool.position += len(data)

    def add_columns(self, number: int, chunk, keep: np.ndarray | None) -> None:
        """`add` for examples a worker process sent as columns, keys already made
        (runtime/row_workers.py): those at positions `keep` (all when None), in order."""
        pool = self.pools[number]
        first = len(pool.keys)
        size = len(chunk.ids) // 8
        where = np.arange(size) if keep is None else keep

        def column(data: bytes, dtype) -> np.ndarray:
            return np.frombuffer(data, dtype=dtype)[where]

        pool.source = chunk.source
        for name, data, dtype in (("identity", chunk.ids, np.uint64), ("rows", chunk.rows, np.int64),
                                  ("parts", chunk.parts, np.int64), ("keys", chunk.selection, np.uint64)):
            getattr(pool, name).frombytes(column(data, dtype).tobytes())
        verb_ids = self.verb_ids.ids
        mapped = np.array([verb_ids.setdefault(v, len(verb_ids)) for v in chunk.verb_names] or [0], dtype=np.uint32)
        pool.verbs.frombytes(mapped[column(chunk.verbs, np.uint32)].tobytes())
        if self.balance is not None:
            names, ids_of = chunk.categories, self.category_ids
            pool.categories.extend([ids_of.setdefault(names[i], len(ids_of)) for i in where.tolist()])
        for (write_id, keys), data in zip(pool.order_keys.items(), chunk.orders):
            order = column(data, np.uint64)
            keys.frombytes(order.tobytes())
            if self.primary is not None and write_id == self.primary["id"]:
                self.ordered.add_lines(order.tolist(), number, first, chunk.lines, array("I", chunk.line_lengths),
                                       where)
        if self.keep_json:
            data, lengths = memoryview(chunk.jsons), array("I", chunk.json_lengths)
            starts = list(itertools.accumulate(lengths, initial=0))
            for i in where.tolist():
                pool.handle.write(data[starts[i]:starts[i + 1]])
                pool.offsets.append(pool.position)
                pool.position += lengths[i]

    def close(self) -> None:
        """Close the spill files (safe to call twice, and after a failure)."""
        for pool in self.pools:
            if pool.handle is not None:
                pool.handle.close()
        if self.ordered is not None:
            self.ordered.close()

    def solve(self) -> Allocation:
        self.close()
        available = {p.name: len(p.keys) for p in self.pools}
        allocation = allocate(self.stage["params"], available)
        if not allocation.feasible:
            raise RunError(f"mix `{self.stage['id'].split(':', 1)[1]}` cannot be built after filtering: "
                           f"{allocation.problem}",
                           hint="lower the share, allow repeats (`on_short = repeat`) or `on_short = shrink`")
        return allocation

    def picks(self, allocation: Allocation) -> Picks:
        if self.stage["params"].get("max_verb_share") is not None or self.balance is not None:
            return Picks.of(self._capped_picks(allocation))
        return Picks.join([self._pick(number, pool, entry.target)
                           for number, (pool, entry) in enumerate(zip(self.pools, allocation.entries))])

    def caps(self, size: int) -> tuple[int, int]:
        """The most examples one leading verb, and one value of the `balance` field, may take."""
        share = self.stage["params"].get("max_verb_share")
        verb_cap = max(1, math.floor(share * size)) if share is not None else size
        if self.balance is None:
            return verb_cap, size
        if self.balance["max_share"] is not None:
            return verb_cap, max(1, math.floor(self.balance["max_share"] * size))
        return verb_cap, max(1, math.ceil(size / max(1, len(self.category_ids))))  # equal shares

    def _capped_picks(self, allocation: Allocation) -> list[Pick]:
        """Smallest keys first, entry by entry, skipping rows whose leading verb or whose
        `balance` value already holds its cap. Under a cap a row is drawn at most once; an
        entry that runs out of rows is left short (`self.short`)."""
        verb_cap, category_cap = self.caps(allocation.size)
        verbs: Counter = Counter()
        categories: Counter = Counter()
        chosen: list[Pick] = []
        for number, (pool, entry) in enumerate(zip(self.pools, allocation.entries)):
            keys = np.frombuffer(pool.keys, dtype=np.uint64)
            taken = 0
            for index in np.lexsort((np.arange(len(keys)), keys)).tolist():
                if taken == entry.target:
                    break
                verb = pool.verbs[index]
                category = pool.categories[index] if self.balance is not None else 0
                if verbs[verb] < verb_cap and categories[category] < category_cap:
                    verbs[verb] += 1
                    categories[category] += 1
                    chosen.append(Pick(number, index, 0))
                    taken += 1
            if taken < entry.target:
                self.short[pool.name] = entry.target - taken
        return sorted(chosen)

    def category_counts(self, picks: Picks) -> dict[str, int]:
        """How many picked examples have each value of the `balance` field."""
        if self.balance is None:
            return {}
        names = {number: value for value, number in self.category_ids.items()}
        counts = self._count_ids(picks, "categories", len(names))
        return dict(sorted((names[i], int(c)) for i, c in enumerate(counts) if c))

    def _count_ids(self, picks: Picks, column: str, size: int) -> np.ndarray:
        """How often each id of a per-example column (verbs, categories) was drawn."""
        counts = np.zeros(size, dtype=np.int64)
        for number, pool in enumerate(self.pools):
            ids = np.frombuffer(getattr(pool, column), dtype=np.uint32)
            if len(ids):
                counts += np.bincount(ids[picks.index[picks.pool == number]], minlength=size)
        return counts

    def _pick(self, number: int, pool: Pool, target: int) -> Picks:
        size = len(pool.keys)
        if size == 0 or target == 0:
            return Picks.join([])
        epochs, remainder = divmod(target, size)
        index = [np.tile(np.arange(size, dtype=np.int64), epochs)]
        epoch = [np.repeat(np.arange(epochs, dtype=np.int64), size)]
        if remainder:
            keys = np.frombuffer(pool.keys, dtype=np.uint64) if epochs == 0 else self._epoch_keys(pool, epochs)
            order = np.lexsort((np.arange(size), keys))[:remainder]  # smallest keys; ties by arrival
            index.append(np.sort(order).astype(np.int64))
            epoch.append(np.full(remainder, epochs, dtype=np.int64))
        index, epoch = np.concatenate(index), np.concatenate(epoch)
        return Picks(np.full(len(index), number, dtype=np.int64), index, epoch)

    def _epoch_keys(self, pool: Pool, epoch: int) -> np.ndarray:
        """Fresh keys for a partial extra epoch, so it is not always the same prefix."""
        salt = stage_seed(self.seed, f"{self.stage['id']}#epoch{epoch}")
        keys = array("Q", (xxh3_64_intdigest(k.to_bytes(8, "big"), salt) for k in pool.identity))
        return np.frombuffer(keys, dtype=np.uint64)

    def repeat_order_key(self, write_id: str, example: dict, epoch: int) -> int:
        """The output-order key of a repeat (its own keyed hash; by score first if so ordered)."""
        key = repeat_key(example["_key"], epoch, self.order_salts[write_id])
        if write_id in self.by_quality:
            key = by_quality(example.get("_score", 0.0), key, self.by_quality[write_id])
        return key

    def verb_counts(self, picks: Picks) -> Counter:
        """How often each leading verb occurs among the picked examples (repeats included)."""
        names = {number: verb for verb, number in self.verb_ids.ids.items()}
        counts = self._count_ids(picks, "verbs", len(names))
        return Counter({names[i]: int(c) for i, c in enumerate(counts) if c})

    def read_example(self, pick: Pick, readers: list) -> dict:
        """An example read back from its JSON copy (only kept when `keep_json`)."""
        example = orjson.loads(self.pools[pick.pool].read(pick.index, readers[pick.pool]))
        example["_prov"] = Provenance(*example["_prov"])
        return example

    def unsampled(self, picks: Picks) -> Iterator[tuple[int, bytes]]:
        """Rejects for the examples no pick took, pool by pool in arrival order, encoded as
        rejects.jsonl lines: (count, bytes) per pool. Formatted from one template a pool,
        the same bytes as encoding a `Reject` each (a test holds them equal), far faster."""
        for number, pool in enumerate(self.pools):
            left = np.flatnonzero(~picks.taken(number, len(pool.keys)))
            if not len(left):
                continue
            head = orjson.dumps({"stage": self.stage["id"], "rule": "unsampled",
                                 "reason": f"not drawn for entry `{pool.name}`"})[:-1]
            where = b',"source":' + orjson.dumps(pool.source) if pool.source is not None else b""
            line = head + b',"value":"%016x"' + where + b',"row":%d,"part":%d}\n'
            identity = np.frombuffer(pool.identity, dtype=np.uint64)[left].tolist()
            rows = np.frombuffer(pool.rows, dtype=np.int64)[left].tolist()
            parts = np.frombuffer(pool.parts, dtype=np.int64)[left].tolist()
            yield len(left), b"".join([line % fields for fields in zip(identity, rows, parts)])


def keeps_json(stage: dict, writes: list[dict]) -> bool:
    """Whether a mix keeps a JSON copy of its examples: to read them back for a second
    output, or for repeats (`on_short = repeat`)."""
    return len(writes) > 1 or stage["params"]["on_short"] == "repeat"


def json_text(value) -> str:
    """A field value as the text that names its group (`None` for a missing value)."""
    return value if isinstance(value, str) else orjson.dumps(value).decode()
