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
    for output in recipe.of_kind(ast.OutputDecl):
        if output.order:
            _check_quality_order(output, context, sink)
    for decl in recipe.of_kind(ast.FilterDecl):
        for rule in decl.rules:
            for field in _fields(rule):
                _check_field(field, sink)
            if isinstance(rule, ast.RegexRule):
                _check_pattern(rule.pattern, context, sink)


def _check_quality_order(output: ast.OutputDecl, context: CheckContext, sink: DiagnosticSink) -> None:
    """`order = quality desc` needs a score: a `score` rule in the mix's filter."""
    mix = context.lookup((output.mix or output.name).value)
    if not isinstance(mix, ast.MixDecl):
        return  # N101/N104 already
    filter_decl = context.lookup(mix.filter.value) if mix.filter else None
    rules = filter_decl.rules if isinstance(filter_decl, ast.FilterDecl) else ()
    if not any(isinstance(rule, ast.ScoreRule) for rule in rules):
        sink.report("R217", output.order[0].span,
                    f"output `{output.name.value}` is ordered by quality, but mix `{mix.name.value}` scores nothing",
                    label="no score to order by",
                    hint="add a rule such as `score heuristic >= 0` to the mix's filter, or `order = random`")


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
