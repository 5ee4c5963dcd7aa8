"""Filter rules read fields examples have, and their patterns compile.

A rule reads the rendered example (`instruction`, `input`, `output`): a
misspelled field is N105. A regular expression that RE2 cannot compile is
R206, with the caret inside the pattern where RE2 points.
"""

from __future__ import annotations

from ...dsl import ast
from ...dsl.cst import value_offsets
from ...dsl.diagnostics import DiagnosticSink
from ...dsl.source import Span
from ...dsl.vocabulary import did_you_mean
from ..context import EXAMPLE_FIELDS, CheckContext
from ..regex import regex_error


def check_filters(recipe: ast.Recipe, context: CheckContext, sink: DiagnosticSink) -> None:
    for decl in recipe.of_kind(ast.FilterDecl):
        for rule in decl.rules:
            for field in _fields(rule):
                _check_field(field, sink)
            if isinstance(rule, ast.RegexRule):
                _check_pattern(rule.pattern, context, sink)


def _fields(rule) -> tuple[ast.Name, ...]:
    if isinstance(rule, (ast.LengthRule, ast.RegexRule)):
        return (rule.field,)
    return getattr(rule, "fields", ())


def _check_field(field: ast.Name, sink: DiagnosticSink) -> None:
    if field.value not in EXAMPLE_FIELDS:
        sink.report(
            "N105", field.span, f"examples have no field `{field.value}`", label="unknown field",
            hint=did_you_mean(field.value, EXAMPLE_FIELDS)
            or "filters read the rendered example: `instruction`, `input` or `output`",
        )


def _check_pattern(pattern: ast.Str, context: CheckContext, sink: DiagnosticSink) -> None:
    problem = regex_error(pattern.value)
    if problem is None:
        return
    message, index = problem
    span = pattern.span
    literal = context.literal_text(pattern.span)
    if index is not None and literal:
        offsets = value_offsets(literal, pattern.style)
        if index < len(offsets) - 1:
            span = Span(span.file, span.start + offsets[index], span.start + offsets[-1])
    hint = "RE2 has no lookaround or backreferences: it matches in linear time"
    if "escape" in message and pattern.style != "raw":
        hint = 'write patterns as raw strings, r"\\d+", so that backslashes reach the regex engine'
    sink.report("R206", span, f"this regular expression does not compile: {message}",
                label="RE2 stops here", hint=hint)
