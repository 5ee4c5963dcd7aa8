"""Content keys of a plan's stages, for the stage cache (runtime/stage_cache.py).

A stage's key is the xxh3_128 of what determines its output: its op and the
version of that op's code, its params, the recipe seed, and the keys of its
inputs; a `read` stage's key also covers the bytes of its file (their
xxh3_128), so a file changed in place, at the same path, gets a new key. A
change anywhere changes the keys of exactly the stages downstream of it.

The version of recipekit is part of every key: a release that changes what a
stage does must not reuse what an older one cached. `OP_VERSIONS` marks
changes within a release line.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import xxhash

from .manifest import file_facts

CACHE_FORMAT = 2  # what an entry holds and how it is laid out; 2: mix spills saved in output order
OP_VERSIONS: dict[str, int] = {}  # op -> version, where an op's output changed without a release


def stage_keys(plan: dict, root: Path, tool: str, hashes: dict[str, str] | None = None,
               code: dict[str, object] | None = None) -> dict[str, str]:
    """Stage id -> key, for every stage of the plan (inputs come before their users).
    `hashes` gives input files' xxh3_128 by plan path, where already known; `code`, by
    stage id, the versions of code outside recipekit a stage runs (a scorer plugin, an
    embedding model), so that upgrading it recomputes that stage and what follows."""
    hashes, code = hashes or {}, code or {}
    stages = {s["id"]: s for s in plan["stages"]}
    keys: dict[str, str] = {}

    def key_of(stage_id: str) -> str:
        if stage_id not in keys:
            stage = stages[stage_id]
            parts = {"format": CACHE_FORMAT, "tool": tool, "op": stage["op"],
                     "version": OP_VERSIONS.get(stage["op"], 1), "params": stage["params"],
                     "seed": plan["seed"], "id": stage_id, "inputs": [key_of(i) for i in stage["inputs"]]}
            if stage_id in code:
                parts["code"] = code[stage_id]
            if stage["op"] == "read":
                path = root / stage["params"]["path"]
                known = hashes.get(stage["params"]["path"])
                parts["file"] = known or (file_facts(path)["xxh3_128"] if path.is_file() else None)
            keys[stage_id] = digest(parts)
        return keys[stage_id]

    for stage in plan["stages"]:
        key_of(stage["id"])
    return keys


def digest(value) -> str:
    """xxh3_128 of a JSON value, its keys sorted."""
    return xxhash.xxh3_128_hexdigest(orjson.dumps(value, option=orjson.OPT_SORT_KEYS))
