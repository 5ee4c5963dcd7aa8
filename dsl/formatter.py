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

import bisect
import re
import unicodedata
from typing import Iterable

import attrs
from lark.exceptions import LarkError

from . import ast
from .cst import Attr, CstReader, Seq, Stmt
from .diagnostics import DiagnosticSink
from .load import load_text
from .parser import Comment, parse
from .source import SourceFile
from .vocabulary import OPTIONS

WIDTH = 88
INDENT = "  "

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


# ----------------------------------------------------------- layout tree ----


@attrs.frozen
class Note:
    """A comment on its own line; `blank`: a blank line came before it."""

    text: str
    blank: bool = False


@attrs.define(eq=False)
class Node:
    """One printed item: a leaf line, a `{ }` block or a `[ ]` list.

    `text` is a leaf's text or the head before the opening bracket. `anchor`
    is the AST span it comes from; `find` says how to reach the item's whole
    extent in the source from it: `span` (it is the extent), `attr` (the value
    of a `key = value`), `parent` (an item of a block that has no AST node).
    """

    text: str
    anchor: ast.Span | None
    find: str = "span"
    children: list[Node] | None = None
    brackets: str = "{}"
    suffix: str = ""
    extent: tuple[int, int] | None = None
    leading: list[Note] = attrs.field(factory=list)
    trailing: str | None = None
    header: str | None = None
    closing: list[Note] = attrs.field(factory=list)
    blank_before: bool = False
    spread: bool = False
    file_header: list[Note] = attrs.field(factory=list)  # the top node only

    @property
    def has_comments(self) -> bool:
        return bool(self.leading or self.trailing or self.header or self.closing)


def leaf(text: str, anchor: ast.Span | None, find: str = "span") -> Node:
    return Node(text, anchor, find)


def block(head: str, anchor: ast.Span | None, children: Iterable[Node | None], find: str = "span") -> Node:
    return Node(head, anchor, find, children=[c for c in children if c is not None])


# ---------------------------------------------------------------- values ----

_PLAIN_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}
_NUMBER_RE = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?%?")


def _is_control(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cc", "Zl", "Zp")


def _code_escape(ch: str) -> str:
    return "\\u{%x}" % ord(ch)


def _escape_plain(value: str) -> str:
    return "".join(
        _PLAIN_ESCAPES.get(ch) or (_code_escape(ch) if _is_control(ch) else ch) for ch in value
    )


def _escape_long(value: str) -> str:
    """Newlines and tabs stay as they are; a `"` that could end the string is escaped."""
    out = []
    for i, ch in enumerate(value):
        if ch == '"':
            closes = i + 1 == len(value) or value[i + 1] == '"'
            out.append('\\"' if closes else ch)
        elif ch in "\n\t":
            out.append(ch)
        else:
            out.append(_PLAIN_ESCAPES.get(ch) or (_code_escape(ch) if _is_control(ch) else ch))
    return "".join(out)


def _can_be_raw(value: str) -> bool:
    return all(ch == "\t" or (ch != '"' and not _is_control(ch)) for ch in value)


def format_str(value: ast.Str, plain: bool = False) -> str:
    """A string in its own style when possible; `plain` where only "..." is allowed."""
    style = "plain" if plain else value.style
    if style == "raw" and _can_be_raw(value.value):
        return f'r"{value.value}"'
    if style == "long":
        return f'"""{_escape_long(value.value)}"""'
    return f'"{_escape_plain(value.value)}"'


def _read_number(text: str) -> tuple[int | float, bool]:
    body = text.rstrip("%")
    value: int | float = float(body) if any(c in body for c in ".eE") else int(body)
    return value, text.endswith("%")


def format_number(number: ast.Number) -> str:
    """As written when the text still means the value, else the value's repr."""
    text = number.text
    if text is not None and _NUMBER_RE.fullmatch(text):
        value, percent = _read_number(text)
        if percent == number.percent and type(value) is type(number.value) and value == number.value:
            return text
    return repr(number.value) + ("%" if number.percent else "")


def format_name(name: ast.Name) -> str:
    return name.value


def format_bool(value: ast.Bool) -> str:
    return "true" if value.value else "false"


def format_range(value: ast.Range) -> str:
    return f"{format_number(value.low)}..{format_number(value.high)}"


def format_value(value) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(format_value(v) for v in value) + ")"
    formatter = _VALUE_FORMATTERS[type(value)]
    return formatter(value)


_VALUE_FORMATTERS = {
    ast.Name: format_name,
    ast.Str: format_str,
    ast.Number: format_number,
    ast.Bool: format_bool,
    ast.Range: format_range,
}


def _first_span(value) -> ast.Span | None:
    if isinstance(value, tuple):
        return value[0].span if value else None
    return value.span


def attribute(key: str, value) -> Node | None:
    """`key = value`, or None when the value is absent."""
    if value is None or value == ():
        return None
    return leaf(f"{key} = {format_value(value)}", _first_span(value), "attr")


def string_list(key: str, strings: tuple[ast.Str, ...]) -> Node | None:
    """One string as `key = "a"`; several as a list (laid out when printed)."""
    if len(strings) <= 1:
        return attribute(key, strings[0] if strings else None)
    elements = [Node(format_str(s), s.span, suffix=",") for s in strings]
    return Node(f"{key} = ", strings[0].span, "attr", children=elements, brackets="[]")


def name_list(key: str, names: tuple[ast.Name, ...]) -> Node | None:
    if not names:
        return None
    elements = [Node(n.value, n.span, suffix=",") for n in names]
    return Node(f"{key} = ", names[0].span, "attr", children=elements, brackets="[]")


def fields_text(fields: tuple[ast.Name, ...]) -> str:
    """`instruction` or `(instruction, output)`."""
    if len(fields) == 1:
        return fields[0].value
    return "(" + ", ".join(f.value for f in fields) + ")"


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
}


# -------------------------------------------------------------- comments ----


class SourceLines:
    """Line numbers and blank lines of the text the AST was read from."""

    def __init__(self, text: str | None) -> None:
        self.text = text
        self.starts = [0] + [i + 1 for i, ch in enumerate(text or "") if ch == "\n"]
        blanks, count = [0], 0
        for line in (text or "").split("\n"):
            count += not line.strip()
            blanks.append(count)
        self.blanks = blanks  # blanks[n]: blank lines among lines 1..n

    def line(self, offset: int) -> int:
        if self.text is None:
            return 2 * offset + 1  # without the text, nothing shares a line
        return bisect.bisect_right(self.starts, offset)

    def last_line(self, extent: tuple[int, int]) -> int:
        return self.line(max(extent[0], extent[1] - 1))

    def blank_between(self, first: int, last: int) -> bool:
        """Is a line strictly between lines `first` and `last` blank?"""
        if self.text is None or last - first < 2:
            return False
        return self.blanks[last - 1] > self.blanks[first]


class Attacher:
    """Gives every node its extent in the source, then its comments."""

    def __init__(self, text: str | None, comments: tuple[Comment, ...]) -> None:
        self.lines = SourceLines(text)
        self.comments = sorted(comments, key=lambda c: c.start)
        self.attr_of: dict[int, tuple[int, int]] = {}
        self.parent_of: dict[int, tuple[int, int]] = {}
        if text is not None:
            self.index_source(text)

    def index_source(self, text: str) -> None:
        try:
            tree = parse(text).tree
        except LarkError:
            return
        self.index_items(CstReader(SourceFile("<format>", text), DiagnosticSink()).items(tree.children[0]))

    def index_items(self, items, parent: tuple[int, int] | None = None) -> None:
        for item in items:
            extent = (item.span.start, item.span.end)
            if parent is not None:
                self.parent_of[item.span.start] = parent
            if isinstance(item, Attr):
                for value in _flatten(item.args):
                    self.attr_of.setdefault(value.span.start, extent)
            if isinstance(item, Stmt) and item.body is not None:
                self.index_items(item.body, extent)

    # -- extents -------------------------------------------------------------

    def resolve(self, node: Node) -> None:
        node.extent = self.extent_of(node)
        if node.extent is not None and node.brackets == "[]":
            node.spread = self.lines.line(node.extent[0]) != self.lines.last_line(node.extent)
        for child in node.children or ():
            self.resolve(child)

    def extent_of(self, node: Node) -> tuple[int, int] | None:
        if node.anchor is None:
            return None
        own = (node.anchor.start, node.anchor.end)
        if node.find == "attr":
            return self.attr_of.get(node.anchor.start, own)
        if node.find == "parent":
            return self.parent_of.get(node.anchor.start)
        return own

    # -- attaching -----------------------------------------------------------

    def attach_file(self, top: Node) -> None:
        for child in top.children:
            self.resolve(child)
        self.attach_body(top, self.comments, header_line=0)
        self.split_file_header(top)

    def attach_body(self, node: Node, comments: list[Comment], header_line: int | None) -> None:
        """Sort the comments inside `node` among its children, in source order."""
        kids = sorted((k for k in node.children if k.extent is not None), key=lambda k: k.extent)
        inner: dict[int, list[Comment]] = {}
        events = []
        for comment in comments:
            owner = next((k for k in kids if k.extent[0] <= comment.start < k.extent[1]), None)
            if owner is not None:
                inner.setdefault(id(owner), []).append(comment)
            else:
                events.append((comment.start, 0, comment))
        events += [(kid.extent[0], 1, kid) for kid in kids]
        self.sweep(node, sorted(events, key=lambda e: e[:2]), header_line)
        for kid in kids:
            self.attach_inside(kid, inner.get(id(kid), []))

    def sweep(self, node: Node, events: list, header_line: int | None) -> None:
        previous = header_line or 0
        last_kid: Node | None = None
        pending: list[Note] = []
        for _, _, event in events:
            if isinstance(event, Node):
                start = self.lines.line(event.extent[0])
                event.leading = pending
                event.blank_before = self.lines.blank_between(previous, start)
                pending, last_kid, previous = [], event, self.lines.last_line(event.extent)
                continue
            line = self.lines.line(event.start)
            if last_kid is not None and line == previous and last_kid.trailing is None:
                last_kid.trailing = event.text
            elif last_kid is None and line == header_line and node.header is None:
                node.header = event.text
            else:
                pending.append(Note(event.text, self.lines.blank_between(previous, line)))
            previous = line
        node.closing = pending

    def attach_inside(self, kid: Node, comments: list[Comment]) -> None:
        if kid.children is not None:
            self.attach_body(kid, comments, self.lines.line(kid.extent[0]))
        else:  # inside a leaf's text (a rule over several lines): before it
            kid.leading += [Note(c.text) for c in comments]

    def split_file_header(self, top: Node) -> None:
        """Comments that open the file, set off by a blank line, stay at the top."""
        placed = [k for k in top.children if k.extent is not None]
        if not placed:
            return
        first = min(placed, key=lambda k: k.extent)
        marks = [note.blank for note in first.leading[1:]] + [first.blank_before]
        cut = max((i + 1 for i, blank in enumerate(marks) if blank), default=0)
        if cut:
            top.file_header = first.leading[:cut]
            first.leading = first.leading[cut:]


def _flatten(values) -> list:
    out = []
    for value in values:
        if isinstance(value, Seq):
            out.append(value)
            out += _flatten(value.items)
        elif hasattr(value, "span"):
            out.append(value)
    return out


# -------------------------------------------------------------- printing ----


def render_file(top: Node) -> list[str]:
    out: list[str] = []
    for i, note in enumerate(top.file_header):
        _gap(out, note.blank and i > 0)
        out.append(note.text)
    render_body(top.children, top.closing, "", out, top_level=True)
    return out


def _gap(out: list[str], wanted: bool) -> None:
    if wanted and out and out[-1] != "":
        out.append("")


def render_body(kids: list[Node], closing: list[Note], indent: str, out: list[str],
                top_level: bool = False) -> None:
    """Children one per line; blank lines where the source had them (always between
    top-level blocks); then the comments before the closing bracket."""
    for kid in kids:
        for i, note in enumerate(kid.leading):
            _gap(out, (note.blank or (top_level and i == 0)))
            out.append(indent + note.text)
        _gap(out, (kid.blank_before or (top_level and not kid.leading)))
        render_node(kid, indent, out)
    for i, note in enumerate(closing):
        _gap(out, (note.blank or (top_level and i == 0)))
        out.append(indent + note.text)


def render_node(node: Node, indent: str, out: list[str]) -> None:
    if node.children is None:
        lines = [indent + node.text + node.suffix]
    elif node.brackets == "[]" and _fits_flat(node, indent):
        lines = [indent + _flat_list(node) + node.suffix]
    else:
        lines = _render_open(node, indent)
    if node.trailing is not None:
        lines[-1] += "  " + node.trailing
    out.extend(lines)


def _flat_list(node: Node) -> str:
    return node.text + "[" + ", ".join(c.text for c in node.children) + "]"


def _fits_flat(node: Node, indent: str) -> bool:
    if node.spread or node.header or node.closing or any(c.has_comments for c in node.children):
        return False
    text = _flat_list(node)
    return "\n" not in text and len(indent) + len(text) + len(node.suffix) <= WIDTH


def _render_open(node: Node, indent: str) -> list[str]:
    """`head {` ... `}` (or `[` ... `]`), one child per line."""
    opener, closer = node.brackets
    space = " " if opener == "{" and node.text else ""
    if not node.children and not node.closing and node.header is None:
        return [f"{indent}{node.text}{space}{opener}{closer}{node.suffix}"]
    first = f"{indent}{node.text}{space}{opener}"
    if node.header is not None:
        first += "  " + node.header
    body: list[str] = []
    render_body(node.children, node.closing, indent + INDENT, body)
    return [first, *body, indent + closer + node.suffix]
