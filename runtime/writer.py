"""The `write` stage: examples in a deterministic shuffled order, in the
declared format, to a temporary file renamed into place.

The order is by keyed hash of (seed, write stage, example identity): a
shuffle that no batch size or worker count can change. Formats:

- `alpaca`: {"id", "instruction", "input", "output"} (+ "provenance": {...});
- `messages`: {"id", "messages": [system?, user, assistant]} (+ "provenance").

Both load with Hugging Face `datasets` as JSON Lines.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import orjson

from .keyed import content_hash, keyed
from .select import MixSelector, Pick


def order_picks(picks: list[Pick], selector: MixSelector, write_id: str) -> list[Pick]:
    """Sort by the keyed output-order hash; repeats get keys salted with their epoch."""
    keys = np.empty(len(picks), dtype=np.uint64)
    readers = [pool.path.open("rb") for pool in selector.pools]
    try:
        for n, pick in enumerate(picks):
            pool = selector.pools[pick.pool]
            if pick.epoch == 0:
                keys[n] = pool.order_keys[write_id][pick.index]
            else:
                identity = orjson.loads(pool.read(pick.index, readers[pick.pool]))["_identity"]
                keys[n] = keyed(selector.seed, write_id, f"{identity}#{pick.epoch}")
    finally:
        for reader in readers:
            reader.close()
    order = np.lexsort((np.arange(len(picks)), keys))
    return [picks[i] for i in order]


def format_example(example: dict, params: dict, epoch: int) -> bytes:
    record: dict = {"id": example["_id"] + (f"-{epoch}" if epoch else "")}
    if params["format"] == "messages":
        user = example["instruction"] + ("\n\n" + example["input"] if example["input"] else "")
        messages = [{"role": "system", "content": params["system"]}] if params.get("system") else []
        messages += [{"role": "user", "content": user}, {"role": "assistant", "content": example["output"]}]
        record["messages"] = messages
    else:
        record.update(instruction=example["instruction"], input=example["input"], output=example["output"])
    if params["provenance"]:
        record["provenance"] = _provenance(example, params["provenance"], epoch)
    return orjson.dumps(record) + b"\n"


def _provenance(example: dict, fields: list[str], epoch: int) -> dict:
    prov = example["_prov"]
    out = {}
    for name in fields:
        if name == "row":
            out["row"] = prov["row"]
            out["part"] = prov["part"]
        elif name == "hash":
            out["hash"] = content_hash(example["instruction"], example["input"], example["output"])
        else:
            out[name] = prov.get(name)
    if epoch:
        out["repeat"] = epoch
    return out


def write_output(path: Path, picks: list[Pick], selector: MixSelector, params: dict) -> int:
    """Write the picks in order to `path` atomically; returns rows written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.partial")
    readers = [pool.path.open("rb") for pool in selector.pools]
    try:
        with scratch.open("wb") as out:
            for pick in picks:
                example = orjson.loads(selector.pools[pick.pool].read(pick.index, readers[pick.pool]))
                out.write(format_example(example, params, pick.epoch))
            out.flush()
            os.fsync(out.fileno())
    finally:
        for reader in readers:
            reader.close()
    os.replace(scratch, path)
    return len(picks)
