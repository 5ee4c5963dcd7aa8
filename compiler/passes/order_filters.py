"""Cheap filter rules run before expensive ones.

Cost classes: length, regex and required-field rules look at one row (0);
exact dedup hashes every row once (1); near dedup compares rows (2); model
scores and agreement are the most expensive (3). A filter written in another
order gets W220 and is lowered in cost order (a stable sort), unless it says
`ordered = true`.
"""

from __future__ import annotations

from ...dsl import ast
from ...dsl.diagnostics import DiagnosticSink
from ..context import CheckContext

COST_CLASS = {
    ast.LengthRule: 0,
    ast.RegexRule: 0,
    ast.RequireRule: 0,
    ast.ExactDedupRule: 1,
    ast.NearDedupRule: 2,
    ast.ScoreRule: 3,
    ast.AgreementRule: 3,
    ast.DecontaminateRule: 1,  # one pass over the evaluation set, then a set lookup per window
}

_RULE_WORDS = {
    ast.LengthRule: "length",
    ast.RegexRule: "regex",
    ast.RequireRule: "require",
    ast.ExactDedupRule: "dedup exact",
    ast.NearDedupRule: "dedup near",
    ast.ScoreRule: "score",
    ast.AgreementRule: "agreement",
    ast.DecontaminateRule: "decontaminate",
}


def cost_order(rules: tuple) -> tuple:
    """The rules sorted cheap to expensive, keeping the written order within a class."""
    return tuple(sorted(rules, key=lambda rule: COST_CLASS[type(rule)]))


def order_filters(recipe: ast.Recipe, context: CheckContext, sink: DiagnosticSink) -> None:
    for decl in recipe.of_kind(ast.FilterDecl):
        if decl.ordered is not None and decl.ordered.value:
            continue
        ordered = cost_order(decl.rules)
        if ordered == decl.rules:
            continue
        culprit = next(r for r, o in zip(decl.rules, ordered) if r is not o)
        order = ", ".join(_RULE_WORDS[type(r)] for r in ordered)
        sink.report(
            "W220", culprit.span,
            f"`{_RULE_WORDS[type(culprit)]}` runs before cheaper rules; the plan reorders filter `{decl.name.value}`",
            label="more expensive than a rule after it",
            notes=[f"the plan runs: {order}"],
            hint="write the rules cheap to expensive, or add `ordered = true` to keep your order",
        )
