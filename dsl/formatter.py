"""The canonical text of a recipe, printed from its AST, comments kept.

`format_text` loads a file and prints it back in the one canonical style;
it refuses (returns None) a file with errors. `format_recipe` prints an AST.

The style: two spaces per level; one item per line; `key = value` with single
spaces; top-level blocks separated by one blank line, the `recipe` block first
and the declarations after it in source order; inside a block the attributes in
the order of `vocabulary.ATTRIBUTES`, then rules or mix entries in source order,
then nested blocks (`schema`, `labels`, `cost`; `fewshot`). A list of strings
stays on one line when it fits in 88 columns and was written on one line;
otherwise one element per line with a trailing comma. Strings keep their style
(raw, long, plain) when the value allows it; numbers are printed as written.

Printing goes through a small layout tree (`Node`): each `format_<node>`
function turns one AST node into a `Node` that remembers the AST span it came
from. Comments are then attached to nodes by position: a comment on its own
line leads the item after it, a comment at the end of an item's line trails
that item, a comment before a closing `}` or `]` stays at the end of that body,
and comments at the end of the file stay there. Because nodes are attached
before attributes are put in canonical order, comments travel with their item.
Blank lines between items inside a block are kept (runs collapse to one).
"""

from __future__ import annotations

from . import ast
from .format_layout import WIDTH, Attacher, Node, block, leaf, render_file
from .format_values import (
    attribute, fields_text, format_number, format_range, format_str, format_value,
    name_list, string_list,
)
from .load import load_text
from .parser import Comment
from .vocabulary import OPTIONS

__all__ = ["WIDTH", "format_recipe", "format_text"]


# ------------------------------------------------------------ public API ----


def format_text(text: str, name: str = "<recipe>") -> str | None:
    """Load `text` and print it canonically; None when it has errors."""
    result = load_text(text, name)
    if not result.ok:
        return None
    return format_recipe(result.recipe, result.comments, text)


def format_recipe(
    recipe: ast.Recipe, comments: tuple[Comment, ...] = (), source_text: str | None = None
) -> str:
    """The canonical text of `recipe`; `comments` and `source_text` come from loading it."""
    nodes = [format_meta(recipe.meta)] if recipe.meta is not None else []
    nodes += [format_decl(decl) for decl in recipe.decls]
    top = Node("", None, children=nodes)
    Attacher(source_text, comments).attach_file(top)
    lines = render_file(top)
    return "\n".join(lines) + "\n" if lines else ""


# ---------------------------------------------------------------- blocks ----


def format_decl(decl) -> Node:
    return _DECL_FORMATTERS[type(decl)](decl)


def format_meta(meta: ast.RecipeMeta) -> Node:
    return block(f"recipe {meta.name.value}", meta.span, [
        attribute("seed", meta.seed),
        attribute("description", meta.description),
        attribute("version", meta.version),
    ])


def format_source(decl: ast.SourceDecl) -> Node:
    return block(f"source {decl.name.value}", decl.span, [
        attribute("from", decl.path),
        attribute("format", decl.format),
        attribute("kind", decl.kind),
        attribute("explode", decl.explode),
        attribute("allow_outside", decl.allow_outside),
        format_schema(decl.fields),
        *(format_labels(labels) for labels in decl.labels),
        format_cost(decl.cost),
    ])


def format_schema(fields: tuple[ast.FieldDecl, ...]) -> Node | None:
    """All fields in one `schema` block (a file may have split them in several)."""
    if not fields:
        return None
    return block("schema", fields[0].span, [format_field(f) for f in fields], find="parent")


def format_field(field: ast.FieldDecl) -> Node:
    text = f"{field.name.value}: {format_type(field.type)}"
    if field.path is not None:
        text += f" = {format_path(field.path)}"
    return leaf(text, field.span)


def format_type(ref: ast.TypeRef) -> str:
    item = f"[{format_type(ref.item)}]" if ref.item is not None else ""
    return ref.name + item + ("?" if ref.optional else "")


def format_path(path: ast.FieldPath) -> str:
    return "".join(_path_step(step, i) for i, step in enumerate(path.steps))


def _path_step(step: str | int | None, index: int) -> str:
    if isinstance(step, str):
        return step if index == 0 else f".{step}"
    return "[]" if step is None else f"[{step}]"


def format_labels(labels: ast.LabelMap) -> Node:
    entries = [format_label_entry(e) for e in labels.entries]
    return block(f"labels {labels.field.value}", labels.span, entries)


def format_label_entry(entry: ast.LabelEntry) -> Node:
    return leaf(f"{format_value(entry.key)} = {format_str(entry.text)}", entry.span)


def format_cost(cost: ast.CostDecl | None) -> Node | None:
    if cost is None:
        return None
    return block("cost", cost.span, [
        attribute("usd_per_hour", cost.usd_per_hour),
        attribute("minutes_per_example", cost.minutes_per_example),
    ])


def format_template(decl: ast.TemplateDecl) -> Node:
    return block(f"template {decl.name.value} on {decl.source.value}", decl.span, [
        string_list("instruction", decl.instruction),
        string_list("input", decl.input),
        string_list("output", decl.output),
        attribute("choose", decl.choose),
        format_fewshot(decl.fewshot),
    ])


def format_fewshot(fewshot: ast.FewShot | None) -> Node | None:
    if fewshot is None:
        return None
    return block("fewshot", fewshot.span, [
        attribute("count", fewshot.count),
        attribute("separator", fewshot.separator),
    ])


def format_paraphrase(decl: ast.ParaphraseDecl) -> Node:
    rules = [format_paraphrase_rule(rule) for rule in decl.rules]
    return block(f"paraphrase {decl.name.value}", decl.span, rules)


def format_paraphrase_rule(rule: ast.ParaphraseRule) -> Node:
    arrow = " <-> " if rule.symmetric else " -> "
    return leaf(arrow.join(format_str(p, plain=True) for p in rule.phrases), rule.span)


def format_expand(decl: ast.ExpandDecl) -> Node:
    inputs = decl.inputs
    return block(f"expand {decl.name.value} from {decl.source.value}", decl.span, [
        attribute("paraphrase", decl.paraphrase),
        attribute("variants", decl.variants),
        string_list("inputs", inputs) if isinstance(inputs, tuple) else attribute("inputs", inputs),
        attribute("input_field", decl.input_field),
    ])


def format_filter(decl: ast.FilterDecl) -> Node:
    rules = [format_rule(rule) for rule in decl.rules]
    return block(f"filter {decl.name.value}", decl.span, [attribute("ordered", decl.ordered), *rules])


def format_mix(decl: ast.MixDecl) -> Node:
    return block(f"mix {decl.name.value}", decl.span, [
        attribute("size", decl.size),
        attribute("filter", decl.filter),
        attribute("temperature", decl.temperature),
        attribute("on_short", decl.on_short),
        attribute("max_epochs", decl.max_epochs),
        attribute("max_verb_share", decl.max_verb_share),
        attribute("min_verb_diversity", decl.min_verb_diversity),
        attribute("balance", decl.balance),
        attribute("max_share", decl.max_share),
        *(format_mix_entry(entry) for entry in decl.entries),
    ])


def format_mix_entry(entry: ast.MixEntry) -> Node:
    text = f"{entry.name.value} = {format_amount(entry.amount)}"
    if entry.cap is not None:
        text += f" cap {format_number(entry.cap)}"
    return leaf(text, entry.span)


def format_amount(amount: ast.Amount) -> str:
    """`50%` (share), `3` (weight), `1200 rows` (count), `40% of source` (fraction)."""
    words = {"count": " rows", "fraction": " of source"}.get(amount.kind, "")
    return format_number(amount.value) + words


def format_output(decl: ast.OutputDecl) -> Node:
    head = f"output {decl.name.value}" + (f" from {decl.mix.value}" if decl.mix else "")
    return block(head, decl.span, [
        attribute("to", decl.path),
        attribute("format", decl.format),
        format_provenance(decl.provenance),
        attribute("system", decl.system),
        leaf("order = " + " ".join(w.value for w in decl.order), decl.order[0].span) if decl.order else None,
        attribute("review", decl.review),
    ])


def format_provenance(names: tuple[ast.Name, ...]) -> Node | None:
    """`provenance = true` for every kind, in the vocabulary's order; else a list."""
    if names and tuple(n.value for n in names) == OPTIONS["provenance"]:
        return leaf("provenance = true", names[0].span, "attr")
    return name_list("provenance", names)


# ---------------------------------------------------------------- rules ----


def format_rule(rule) -> Node:
    return _RULE_FORMATTERS[type(rule)](rule)


def format_length_rule(rule: ast.LengthRule) -> Node:
    text = f"length {rule.field.value} {rule.unit.value} {format_range(rule.bounds)}"
    return leaf(text, rule.span)


def format_regex_rule(rule: ast.RegexRule) -> Node:
    text = f"{rule.action.value} {rule.field.value} matches {format_str(rule.pattern)}"
    return leaf(text, rule.span)


def format_require_rule(rule: ast.RequireRule) -> Node:
    return leaf(f"require {fields_text(rule.fields)}", rule.span)


def format_exact_dedup_rule(rule: ast.ExactDedupRule) -> Node:
    text = f"dedup exact on {fields_text(rule.fields)}"
    if rule.normalize:
        text += f" normalize {fields_text(rule.normalize)}"
    return leaf(text, rule.span)


def format_near_dedup_rule(rule: ast.NearDedupRule) -> Node:
    head = (f"dedup near on {fields_text(rule.fields)} {rule.metric.value} "
            f">= {format_number(rule.threshold)}")
    return rule_with_options(head, rule)


def format_score_rule(rule: ast.ScoreRule) -> Node:
    head = f"score {rule.scorer.value} >= {format_number(rule.threshold)}"
    return rule_with_options(head, rule)


def format_agreement_rule(rule: ast.AgreementRule) -> Node:
    return rule_with_options(f"agreement >= {format_number(rule.threshold)}", rule)


def format_decontaminate_rule(rule: ast.DecontaminateRule) -> Node:
    fields = "" if [f.value for f in rule.fields] == ["instruction", "input", "output"] \
        else f" on {fields_text(rule.fields)}"
    return rule_with_options(f"decontaminate{fields} against {rule.against.value}", rule)


def rule_with_options(head: str, rule) -> Node:
    """A rule line, with a `{ ... }` body only when it has options."""
    if not rule.options:
        return leaf(head, rule.span)
    return block(head, rule.span, [format_option(o) for o in rule.options])


def format_option(option: ast.Option) -> Node:
    return leaf(f"{option.key.value} = {format_value(option.value)}", option.span)


_DECL_FORMATTERS = {
    ast.SourceDecl: format_source,
    ast.TemplateDecl: format_template,
    ast.ParaphraseDecl: format_paraphrase,
    ast.ExpandDecl: format_expand,
    ast.FilterDecl: format_filter,
    ast.MixDecl: format_mix,
    ast.OutputDecl: format_output,
}

_RULE_FORMATTERS = {
    ast.LengthRule: format_length_rule,
    ast.RegexRule: format_regex_rule,
    ast.RequireRule: format_require_rule,
    ast.ExactDedupRule: format_exact_dedup_rule,
    ast.NearDedupRule: format_near_dedup_rule,
    ast.ScoreRule: format_score_rule,
    ast.AgreementRule: format_agreement_rule,
    ast.DecontaminateRule: format_decontaminate_rule,
}


