"""`recipekit diff A B`: what changed between two recipes' plans.

Stages are matched by their stable ids, so the diff reads in the recipe's
names: stages added, removed, rewired (inputs changed) and parameters changed,
each parameter change with its JSON path and both values.
"""

from __future__ import annotations

import attrs


@attrs.frozen
class Change:
    kind: str  # added | removed | inputs | param | plan
    stage: str
    path: str = ""
    before: object = None
    after: object = None


def diff_plans(old: dict, new: dict) -> list[Change]:
    changes: list[Change] = []
    for key in ("seed", "plan_version"):
        if old.get(key) != new.get(key):
            changes.append(Change("plan", "", key, old.get(key), new.get(key)))
    before = {s["id"]: s for s in old["stages"]}
    after = {s["id"]: s for s in new["stages"]}
    changes += [Change("removed", i) for i in before if i not in after]
    changes += [Change("added", i) for i in after if i not in before]
    for stage_id in (i for i in after if i in before):
        a, b = before[stage_id], after[stage_id]
        if a["inputs"] != b["inputs"]:
            changes.append(Change("inputs", stage_id, "inputs", a["inputs"], b["inputs"]))
        changes += [Change("param", stage_id, p, x, y) for p, x, y in _walk(a["params"], b["params"], "params")]
    return changes


def _walk(a, b, path: str):
    """(path, before, after) for every leaf that differs."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            yield from _walk(a.get(key), b.get(key), f"{path}.{key}")
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for index, (x, y) in enumerate(zip(a, b)):
            yield from _walk(x, y, f"{path}[{index}]")
    elif a != b:
        yield path, a, b
