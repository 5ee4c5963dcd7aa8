"""Solve each mix on the sizes of its sources, when the data is at hand.

An infeasible mix (a 50% share that needs 3.2 epochs of a source whose repeats
are not allowed) is R215, pointing at the entry, with the numbers.
"""

from __future__ import annotations

from pathlib import Path

from ..dsl import ast
from ..dsl.diagnostics import DiagnosticSink
from ..runtime.mixing import Allocation, allocate
from ..runtime.plan_graph import filter_chain
from .source_sizes import entry_sizes


def solve_mixes(plan: dict, root: Path) -> dict[str, Allocation | None]:
    """Allocation per mix stage id; None where some source size is unknown."""
    sizes = entry_sizes(plan, root)
    stages = {s["id"]: s for s in plan["stages"]}
    solved: dict[str, Allocation | None] = {}
    for stage in plan["stages"]:
        if stage["op"] != "mix":
            continue
        available = _available(stage, stages, sizes)
        solved[stage["id"]] = None if available is None else allocate(stage["params"], available)
    return solved


def _available(mix: dict, stages: dict, sizes: dict) -> dict[str, int] | None:
    union, _ = filter_chain(stages, mix)
    counts = {}
    for name, stage_id in zip(union["params"]["entries"], union["inputs"]):
        if sizes.get(stage_id) is None:
            return None
        counts[name] = sizes[stage_id]
    return counts


def check_mix_feasibility(recipe: ast.Recipe, plan: dict, root: Path, sink: DiagnosticSink) -> None:
    mixes = {m.name.value: m for m in recipe.of_kind(ast.MixDecl)}
    for stage_id, allocation in solve_mixes(plan, root).items():
        if allocation is None or allocation.feasible:
            continue
        mix = mixes[stage_id.split(":", 1)[1]]
        entry = next((e for e in mix.entries if f"`{e.name.value}`" in allocation.problem), None)
        span = entry.span if entry else mix.name.span
        sink.report("R215", span, f"mix `{mix.name.value}` cannot be built: {allocation.problem}",
                    label="infeasible with the data at hand",
                    hint="lower this entry's share, set a smaller `size`, or allow repeats with "
                    "`on_short = repeat` and `max_epochs`; `on_short = shrink` scales the mix down")
