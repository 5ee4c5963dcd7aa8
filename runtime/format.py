"""Output formats: one example as one JSON line.

- `alpaca`: {"id", "instruction", "input", "output"} (+ "provenance": {...});
- `messages`: {"id", "messages": [system?, user, assistant]} (+ "provenance").

Both load with Hugging Face `datasets` as JSON Lines. The id is the example's
identity key in hex; a repeated example (upsampling) gets `-<epoch>` after it.
"""

from __future__ import annotations

from typing import Callable

import orjson

from .keyed import content_hash, id_of


def first_epoch_formatter(params: dict) -> Callable[[dict], bytes]:
    """`format_example(example, params, 0)` as one function: the mix calls it for every example."""
    if params["format"] == "alpaca" and not params["provenance"]:
        def alpaca(example: dict) -> bytes:
            return orjson.dumps({"id": format(example["_key"], "016x"), "instruction": example["instruction"],
                                 "input": example["input"], "output": example["output"]},
                                option=orjson.OPT_APPEND_NEWLINE)
        return alpaca
    return lambda example: format_example(example, params, 0)


def format_example(example: dict, params: dict, epoch: int) -> bytes:
    record: dict = {"id": id_of(example) + (f"-{epoch}" if epoch else "")}
    if params["format"] == "messages":
        user = example["instruction"] + ("\n\n" + example["input"] if example["input"] else "")
        messages = [{"role": "system", "content": params["system"]}] if params.get("system") else []
        messages += [{"role": "user", "content": user}, {"role": "assistant", "content": example["output"]}]
        record["messages"] = messages
    else:
        record.update(instruction=example["instruction"], input=example["input"], output=example["output"])
    if params["provenance"]:
        record["provenance"] = _provenance(example, params["provenance"], epoch)
    return orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)


def _provenance(example: dict, fields: list[str], epoch: int) -> dict:
    prov = example["_prov"]
    out = {}
    for name in fields:
        if name == "row":
            out["row"] = prov.row
            out["part"] = prov.part
        elif name == "hash":
            out["hash"] = content_hash(example["instruction"], example["input"], example["output"])
        else:
            out[name] = getattr(prov, name)
    if epoch:
        out["repeat"] = epoch
    return out
