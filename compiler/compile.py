"""`compile`: check a recipe, lower it, and validate the plan."""

from __future__ import annotations

from pathlib import Path

import attrs

from ..dsl.diagnostics import Diagnostic, DiagnosticSink
from .check import CheckResult, check_file
from .mix_feasibility import check_mix_feasibility
from .plan_json import build_plan, dumps, root_for, validate_plan


@attrs.frozen
class CompileResult:
    check: CheckResult
    plan: dict | None
    diagnostics: tuple[Diagnostic, ...]

    @property
    def text(self) -> str | None:
        return dumps(self.plan) if self.plan is not None else None


def compile_file(recipe_path: str | Path, plan_path: str | Path | None = None) -> CompileResult:
    recipe_path = Path(recipe_path)
    checked = check_file(recipe_path)
    if checked.has_errors:
        return CompileResult(checked, None, checked.diagnostics)
    root = root_for(recipe_path, Path(plan_path) if plan_path else None)
    plan = build_plan(checked.load.recipe, recipe_path.read_bytes(), root)
    sink = DiagnosticSink()
    sink.extend(checked.diagnostics)
    if not validate_plan(plan, sink):
        return CompileResult(checked, None, tuple(sink))
    check_mix_feasibility(checked.load.recipe, plan, recipe_path.parent, sink)
    if sink.has_errors:
        return CompileResult(checked, None, tuple(sink.sorted()))
    return CompileResult(checked, plan, tuple(sink.sorted()))
