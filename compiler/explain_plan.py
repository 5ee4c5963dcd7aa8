"""`recipekit explain RECIPE`: the plan as a tree, with sizes when the data is here.

Each output is a root; under it the stages it depends on, nearest first, each
with its parameters. Read stages show their row counts and each mix shows the
solved allocation: entry, how it was stated, examples available, examples taken.
"""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Group
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from ..runtime.mixing import Allocation
from .mix_feasibility import solve_mixes
from .source_sizes import entry_sizes

_HIDDEN = {"fields", "instruction", "input", "output", "labels", "rules"}


def plan_tree(plan: dict, root: Path) -> Tree:
    stages = {s["id"]: s for s in plan["stages"]}
    sizes = entry_sizes(plan, root)
    mixes = solve_mixes(plan, root)
    title = Text(f"recipe {plan['recipe']['name']}  (seed {plan['seed']}, plan {plan['plan_version']})", style="bold")
    tree = Tree(title)
    for stage in plan["stages"]:
        if stage["op"] == "write":
            _add(tree, stage, stages, sizes, mixes)
    return tree


def _add(parent: Tree, stage: dict, stages: dict, sizes: dict, mixes: dict) -> None:
    node = parent.add(_label(stage, sizes, mixes.get(stage["id"])))
    for input_id in stage["inputs"]:
        _add(node, stages[input_id], stages, sizes, mixes)


def _label(stage: dict, sizes: dict, allocation: Allocation | None):
    head = Text.assemble((stage["op"], "bold cyan"), " ", (stage["id"], "dim"))
    params = _summary(stage)
    if params:
        head.append("  " + params)
    size = sizes.get(stage["id"])
    if size is not None:
        head.append(f"  [{size:,} {'rows' if stage['op'] == 'read' else 'examples'}]", style="green")
    if stage["op"] != "mix":
        return head
    return Group(head, _allocation_table(stage, allocation))


def _summary(stage: dict) -> str:
    params = stage["params"]
    parts = []
    for key, value in params.items():
        hidden = key in _HIDDEN and not (key == "fields" and stage["op"] != "read")
        if hidden or value in (None, [], {}) or key == "entries":
            continue
        parts.append(f"{key}={json.dumps(value, ensure_ascii=False)}")
    if stage["op"] == "read":
        parts.append(f"{len(params['fields'])} fields")
    if stage["op"] == "render":
        parts.insert(0, f"{len(params['instruction'])}×{len(params['output'])} phrasings")
    if stage["op"] == "expand" and params["rules"]:
        parts.insert(0, f"{len(params['rules'])} paraphrase rules")
    return " ".join(parts)


def _allocation_table(stage: dict, allocation: Allocation | None) -> Table:
    table = Table(box=None, pad_edge=False, show_edge=False)
    for column in ("entry", "amount", "available", "taken", "epochs"):
        table.add_column(column, justify="left" if column in ("entry", "amount") else "right")
    solved = {a.name: a for a in allocation.entries} if allocation else {}
    for entry in stage["params"]["entries"]:
        a = solved.get(entry["name"])
        table.add_row(entry["name"], _amount(entry), f"{a.available:,}" if a else "?",
                      f"{a.target:,}" if a else "?", f"{a.epochs:.2f}" if a and a.available else "?")
    if allocation is not None and not allocation.feasible:
        table.caption = f"infeasible: {allocation.problem}"
    elif allocation is None:
        table.caption = "sizes unknown: some source file is missing"
    return table


def _amount(entry: dict) -> str:
    value = entry["value"]
    text = {"share": f"{value}%", "weight": f"weight {value}", "count": f"{value} rows",
            "fraction": f"{value}% of source"}[entry["kind"]]
    return text + (f" cap {entry['cap']}" if entry.get("cap") else "")
