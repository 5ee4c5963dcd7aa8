"""Templates read only fields their source declares; verbalizers fit their field.

`{sentense}` on a source with a `sentence` field is T301 with a did-you-mean;
`{context}` on an optional `context: str?` field is T302 (write `{context?}`);
`labels label { "0" = ... }` on an `int` field is T305.
"""

from __future__ import annotations

from ...dsl import ast
from ...dsl.cst import value_offsets
from ...dsl.diagnostics import DiagnosticSink, Label
from ...dsl.source import Span
from ...dsl.vocabulary import did_you_mean
from ..context import CheckContext
from ..placeholders import Placeholder, parse_template

_PARTS = ("instruction", "input", "output")
# The fields a row must have to be used without a template.
_EXAMPLE_FIELDS = ("instruction", "output")


def check_templates(recipe: ast.Recipe, context: CheckContext, sink: DiagnosticSink) -> None:
    for source in recipe.of_kind(ast.SourceDecl):
        for labels in source.labels:
            _check_labels(source, labels, sink)
    for template in recipe.of_kind(ast.TemplateDecl):
        source = context.source_of(template)
        for part in _PARTS:
            for text in getattr(template, part):
                _check_string(text, source, sink, context)
    for expand in recipe.of_kind(ast.ExpandDecl):
        _check_example_fields(context.source_of(expand), expand.source, "expanded", sink)
        _check_instance_fields(expand, context, sink)
    for mix in recipe.of_kind(ast.MixDecl):
        for entry in mix.entries:
            found = context.lookup(entry.name.value)
            if isinstance(found, ast.SourceDecl):
                _check_example_fields(found, entry.name, "mixed without a template", sink)
            for field, purpose in _mix_fields(mix, context, sink):
                _check_entry_field(field, purpose, entry, found, context, sink)


def fields_of(source: ast.SourceDecl) -> dict[str, ast.FieldDecl]:
    return {f.name.value: f for f in source.fields}


def _check_string(text: ast.Str, source, sink: DiagnosticSink, context: CheckContext) -> None:
    segments, errors = parse_template(text.value)
    literal = context.literal_text(text.span)
    for error in errors:
        sink.report("T303", _inner_span(text, literal, error.start, error.end), error.message,
                    label=error.label, hint=error.hint)
    if source is None:
        return
    fields = fields_of(source)
    for segment in segments:
        if isinstance(segment, Placeholder):
            span = _inner_span(text, literal, segment.start, segment.end)
            _check_placeholder(segment, span, source, fields, sink)


def _inner_span(text: ast.Str, literal: str | None, start: int, end: int) -> Span:
    if not literal:
        return text.span
    offsets = value_offsets(literal, text.style)
    if end >= len(offsets):
        return text.span
    return Span(text.span.file, text.span.start + offsets[start], text.span.start + offsets[end])


def _check_placeholder(p: Placeholder, span: Span, source: ast.SourceDecl, fields: dict, sink) -> None:
    field = fields.get(p.field)
    if field is None:
        declared = ", ".join(f"`{n}`" for n in fields) or "none (add a `schema` block)"
        sink.report(
            "T301", span, f"source `{source.name.value}` has no field `{p.field}`",
            label="unknown field", secondary=[Label(source.name.span, "the template reads this source")],
            hint=did_you_mean(p.field, fields) or f"its fields: {declared}",
        )
    elif field.type.optional and not p.optional:
        sink.report(
            "T302", span, f"`{p.field}` may be missing, but the template uses it as always present",
            label=f"write `{{{p.field}?}}`", secondary=[Label(field.span, "declared optional here")],
            hint=f"`{{{p.field}?}}` renders as empty text when the field is missing",
        )
    elif p.optional and not field.type.optional:
        sink.report(
            "W307", span, f"`{p.field}` is always present: the `?` has no effect",
            label="needless `?`", secondary=[Label(field.span, "declared required here")],
            hint=f"write `{{{p.field}}}`, or declare the field as `{field.type.name}?`",
        )
    elif field.type.name == "list":
        sink.report(
            "T308", span, f"`{p.field}` is a list, and a template renders single values",
            label="a list field", hint=f"read one element in the schema: `{p.field}_first: str = {p.field}[0]`",
        )


def _check_labels(source: ast.SourceDecl, labels: ast.LabelMap, sink: DiagnosticSink) -> None:
    field = fields_of(source).get(labels.field.value)
    if field is None:
        sink.report(
            "T304", labels.field.span, f"source `{source.name.value}` has no field `{labels.field.value}` to verbalize",
            label="unknown field", hint=did_you_mean(labels.field.value, fields_of(source)),
        )
        return
    seen: dict = {}
    for entry in labels.entries:
        if not _key_fits(entry.key, field.type.name):
            sink.report(
                "T305", entry.key.span,
                f"`{labels.field.value}` is `{field.type.name}`, so its labels need {_KEY_WORDS.get(field.type.name, 'scalar')} keys",
                label="wrong kind of key", secondary=[Label(field.type.span, "the field's type")],
            )
        first = seen.setdefault(_key_value(entry.key), entry)
        if first is not entry:
            sink.report("T306", entry.key.span, "this label value is mapped twice",
                        label="mapped again", secondary=[Label(first.key.span, "first mapped here")])


_KEY_WORDS = {"int": "whole-number", "str": "string", "bool": "`true`/`false`", "float": "number"}


def _key_fits(key, type_name: str) -> bool:
    if type_name == "int":
        return isinstance(key, ast.Number) and isinstance(key.value, int) and not key.percent
    if type_name == "float":
        return isinstance(key, ast.Number) and not key.percent
    if type_name == "bool":
        return isinstance(key, ast.Bool)
    if type_name == "str":
        return isinstance(key, ast.Str)
    return False


def _key_value(key) -> tuple:
    return (type(key).__name__, key.value)


_AGREEMENT_FIELDS = ("item", "annotator", "label")
_AGREEMENT_METHODS = ("percent", "cohen", "fleiss")


def _mix_fields(mix: ast.MixDecl, context: CheckContext, sink: DiagnosticSink) -> list[tuple[ast.Name, str]]:
    """The source fields a mix reads from its examples: `balance`, and `agreement`'s options."""
    fields = [(mix.balance, "to balance on")] if mix.balance is not None else []
    filter_decl = context.lookup(mix.filter.value) if mix.filter else None
    for rule in filter_decl.rules if isinstance(filter_decl, ast.FilterDecl) else ():
        if isinstance(rule, ast.AgreementRule):
            fields += _agreement_fields(rule, sink)
    return fields


def _agreement_fields(rule: ast.AgreementRule, sink: DiagnosticSink) -> list[tuple[ast.Name, str]]:
    options = {o.key.value: o.value for o in rule.options}
    missing = [k for k in _AGREEMENT_FIELDS if not isinstance(options.get(k), ast.Name)]
    if missing:
        sink.report("S007", rule.span, f"`agreement` needs {', '.join(f'`{k}`' for k in missing)}",
                    label="which fields identify the item, the annotator and the label?",
                    hint="agreement >= 0.6 { item = id, annotator = worker, label = label }")
    method = options.get("method")
    if method is not None and not (isinstance(method, ast.Name) and method.value in _AGREEMENT_METHODS):
        sink.report("S008", method.span, "`method` is `percent`, `cohen` or `fleiss`", label="unknown method",
                    hint=did_you_mean(getattr(method, "value", ""), _AGREEMENT_METHODS))
    return [(options[k], f"as the agreement {k}") for k in _AGREEMENT_FIELDS if k not in missing]


def _check_entry_field(field: ast.Name, purpose: str, entry: ast.MixEntry, found, context: CheckContext,
                       sink) -> None:
    """A field the mix needs must be in the source of every entry."""
    source = found if isinstance(found, ast.SourceDecl) else (
        context.source_of(found) if isinstance(found, (ast.TemplateDecl, ast.ExpandDecl)) else None)
    if source is None or field.value in fields_of(source):
        return
    sink.report(
        "N106", field.span, f"mix entry `{entry.name.value}` reads source `{source.name.value}`, "
        f"which has no field `{field.value}` {purpose}", label="not in every entry's source",
        secondary=[Label(entry.name.span, "this entry")],
        hint=did_you_mean(field.value, fields_of(source)) or f"declare `{field.value}` in `{source.name.value}`",
    )


def _check_instance_fields(expand: ast.ExpandDecl, context: CheckContext, sink: DiagnosticSink) -> None:
    """`inputs = SOURCE`: each row of SOURCE is an instance, its input field and its `output`."""
    if not isinstance(expand.inputs, ast.Name):
        return
    source = context.lookup(expand.inputs.value)
    if not isinstance(source, ast.SourceDecl):
        return
    fields = fields_of(source)
    wanted = expand.input_field or expand.inputs
    name = expand.input_field.value if expand.input_field else "input"
    for field, what, span in ((name, "the input", wanted.span), ("output", "the output", expand.inputs.span)):
        if field not in fields:
            sink.report(
                "T322", span, f"source `{source.name.value}` has no field `{field}`, {what} of each new instance",
                label="not in the input source", secondary=[Label(source.name.span, "declared here")],
                hint=did_you_mean(field, fields) or (
                    f"name the field that holds the input with `input_field = FIELD`" if field == name
                    else f"declare an `output` field in `{source.name.value}` (a path can rename one: "
                         f"`output: str = answer`)"),
            )


def _check_example_fields(source, name: ast.Name, how: str, sink: DiagnosticSink) -> None:
    if source is None:
        return
    missing = [f for f in _EXAMPLE_FIELDS if f not in fields_of(source)]
    if missing:
        sink.report(
            "T321", name.span, f"source `{source.name.value}` is {how}, but has no {' or '.join(f'`{m}`' for m in missing)} field",
            label="not an instruction source", secondary=[Label(source.name.span, "declared here")],
            hint="declare `instruction` and `output` fields (and `input` if it has one), or use a template",
        )
