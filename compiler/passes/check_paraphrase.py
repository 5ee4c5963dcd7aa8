"""Paraphrase rules rewrite something into something else, and terminate.

`"Write" -> "Write"` is T310; `"a" -> "b"` with `"b" -> "a"` loops (T311);
a phrase with a brace could rewrite a `{placeholder}` (T312); an empty phrase
matches everywhere (T313).
"""

from __future__ import annotations

from ...dsl import ast
from ...dsl.diagnostics import DiagnosticSink, Label
from ..context import CheckContext


def check_paraphrase(recipe: ast.Recipe, context: CheckContext, sink: DiagnosticSink) -> None:
    for block in recipe.of_kind(ast.ParaphraseDecl):
        for rule in block.rules:
            _check_phrases(rule, sink)
        _check_loops(block, sink)


def _check_phrases(rule: ast.ParaphraseRule, sink: DiagnosticSink) -> None:
    seen: dict[str, ast.Str] = {}
    for phrase in rule.phrases:
        if not phrase.value.strip():
            sink.report("T313", phrase.span, "an empty phrase in a paraphrase rule",
                        label="matches nothing useful", hint="remove it, or write the words to rewrite")
        elif "{" in phrase.value or "}" in phrase.value:
            sink.report("T312", phrase.span, "a paraphrase phrase contains a brace",
                        label="could rewrite a `{placeholder}`",
                        hint="paraphrase plain words; placeholders are left untouched")
        first = seen.setdefault(phrase.value, phrase)
        if first is not phrase:
            sink.report("T310", phrase.span, f"`{phrase.value}` is rewritten to itself",
                        label="same phrase again", secondary=[Label(first.span, "first here")],
                        hint="remove the repeated phrase")


def _check_loops(block: ast.ParaphraseDecl, sink: DiagnosticSink) -> None:
    """One-way rules form a graph; a cycle would rewrite forever."""
    edges: dict[str, list[tuple[str, ast.Str]]] = {}
    for rule in block.rules:
        if rule.symmetric:
            continue
        for left, right in zip(rule.phrases, rule.phrases[1:]):
            if left.value == right.value:
                continue
            if _reaches(edges, right.value, left.value):
                sink.report(
                    "T311", right.span, f"`{left.value}` -> `{right.value}` closes a loop of `->` rules",
                    label="rewrites back to an earlier phrase",
                    hint="use `<->` for phrases that may replace each other, or drop one direction",
                )
                continue
            edges.setdefault(left.value, []).append((right.value, right))


def _reaches(edges: dict, start: str, goal: str) -> bool:
    stack, seen = [start], set()
    while stack:
        node = stack.pop()
        if node == goal:
            return True
        if node not in seen:
            seen.add(node)
            stack.extend(target for target, _ in edges.get(node, ()))
    return False
