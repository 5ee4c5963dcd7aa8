"""From Lark's parse tree to generic items: attributes, fields, chains, statements.

The grammar is uniform, so this layer is too: it knows nothing about sources
or filters. It decodes literals (string escapes, numbers) into AST values and
keeps a span on everything; `build_ast` gives the items their meaning.
"""

from __future__ import annotations

import re

import attrs
from lark import Token, Tree

from . import ast
from .diagnostics import DiagnosticSink
from .source import SourceFile, Span


@attrs.frozen
class Seq:
    """A bracketed list `[a, b]` or tuple `(a, b)` before it gets a meaning."""

    items: tuple
    bracket: str  # "[" or "("
    span: Span


@attrs.frozen
class Op:
    """A comparison word inside a rule: `>=`, `<`, ..."""

    value: str
    span: Span


@attrs.frozen
class Attr:
    key: ast.Name | ast.Str | ast.Number
    args: tuple
    span: Span


@attrs.frozen
class FieldItem:
    name: ast.Name
    type: ast.TypeRef
    path: ast.FieldPath | None
    span: Span


@attrs.frozen
class Chain:
    phrases: tuple[ast.Str, ...]
    arrows: tuple[Token, ...]
    span: Span


@attrs.frozen
class Stmt:
    head: ast.Name
    args: tuple
    body: tuple | None  # None: no `{ ... }`
    span: Span
    body_span: Span | None = None


Item = Attr | FieldItem | Chain | Stmt

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", '"': '"'}
_ESCAPE_RE = re.compile(r"\\(u\{[0-9A-Fa-f]{1,6}\}|u[0-9A-Fa-f]{4}|.)", re.S)


class CstReader:
    """Turns the tree of one file into items, reporting bad literals."""

    def __init__(self, source: SourceFile, sink: DiagnosticSink) -> None:
        self.source = source
        self.sink = sink

    def span_of(self, node: Tree | Token) -> Span:
        if isinstance(node, Token):
            return self.source.span(node.start_pos, node.end_pos)
        if node.meta.empty:
            return self.source.span(0, 0)
        return self.source.span(node.meta.start_pos, node.meta.end_pos)

    # -- items ---------------------------------------------------------------

    def items(self, body: Tree) -> tuple[Item, ...]:
        return tuple(self.item(child) for child in body.children)

    def item(self, node: Tree) -> Item:
        kind = node.data
        if kind == "attribute":
            key, args = node.children
            return Attr(self.scalar(key), self.args(args), self.span_of(node))
        if kind == "field":
            return self.field(node)
        if kind == "chain":
            phrases = tuple(self.string(t) for t in node.children if t.type != "ARROW")
            arrows = tuple(t for t in node.children if t.type == "ARROW")
            return Chain(phrases, arrows, self.span_of(node))
        head, *rest = node.children
        args = self.args(rest[0]) if rest and rest[0].data == "args" else ()
        body = rest[-1] if kind == "block" else None
        return Stmt(
            self.name(head),
            args,
            self.items(body) if body is not None else None,
            self.span_of(node),
            self.span_of(body) if body is not None else None,
        )

    def field(self, node: Tree) -> FieldItem:
        name, type_node, *path = node.children
        path_node = self.path(path[0]) if path else None
        return FieldItem(self.name(name), self.type(type_node), path_node, self.span_of(node))

    def type(self, node: Tree) -> ast.TypeRef:
        name = node.children[0]
        item = next((self.type(c) for c in node.children if isinstance(c, Tree)), None)
        optional = any(isinstance(c, Token) and c.type == "OPTIONAL" for c in node.children)
        return ast.TypeRef(str(name), optional, item, span=self.span_of(node))

    def path(self, node: Tree) -> ast.FieldPath:
        steps: list[str | int | None] = []
        for child in node.children:
            if isinstance(child, Token):
                steps.append(str(child))
            elif not child.children:
                steps.append(None)
            else:
                steps.append(self.index(child.children[0]))
        return ast.FieldPath(tuple(steps), span=self.span_of(node))

    def index(self, token: Token) -> int:
        """A list index in a field path: a whole number, 0 or more."""
        text = str(token)
        if text.isdigit():
            return int(text)
        self.sink.report("S006", self.span_of(token), f"`{text}` is not a list index",
                         label="expected a whole number", hint="list indices count from 0: `answers[0]`")
        return 0

    # -- values --------------------------------------------------------------

    def args(self, node: Tree) -> tuple:
        return tuple(self.value(child) for child in node.children)

    def value(self, node: Tree | Token):
        if isinstance(node, Token):
            if node.type == "COMPARE":
                return Op(str(node), self.span_of(node))
            return self.scalar(node)
        if node.data == "range":
            low, high = (self.number(t) for t in node.children)
            return ast.Range(low, high, span=self.span_of(node))
        bracket = "[" if node.data == "list" else "("
        return Seq(tuple(self.value(c) for c in node.children), bracket, self.span_of(node))

    def scalar(self, token: Token):
        if token.type == "NAME":
            return self.name(token)
        if token.type == "NUMBER":
            return self.number(token)
        return self.string(token)

    def name(self, token: Token) -> ast.Name:
        return ast.Name(str(token), span=self.span_of(token))

    def number(self, token: Token) -> ast.Number:
        text = str(token)
        body = text.rstrip("%")
        value: int | float = float(body) if any(c in body for c in ".eE") else int(body)
        return ast.Number(value, text.endswith("%"), text, span=self.span_of(token))

    def string(self, token: Token) -> ast.Str:
        text = str(token)
        span = self.span_of(token)
        if token.type == "RAW_STRING":
            return ast.Str(text[2:-1], "raw", span=span)
        if token.type == "LONG_STRING":
            body, offset, style = text[3:-3], 3, "long"
        else:
            body, offset, style = text[1:-1], 1, "plain"
        value = self.unescape(body, span.start + offset)
        return ast.Str(value, style, span=span)

    def unescape(self, body: str, start: int) -> str:
        """Decode backslash escapes, reporting unknown ones (P010)."""

        def decode(match: re.Match) -> str:
            esc = match.group(1)
            if esc.startswith("u") and len(esc) > 1:
                code = int(esc.strip("u{}"), 16)
                if code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF:
                    return chr(code)
            elif esc in _ESCAPES:
                return _ESCAPES[esc]
            self.bad_escape(match, start)
            return match.group(0)

        return _ESCAPE_RE.sub(decode, body)

    def bad_escape(self, match: re.Match, start: int) -> None:
        span = self.source.span(start + match.start(), start + match.end())
        self.sink.report(
            "P010",
            span,
            f"unknown escape sequence `{match.group(0)}` in a string",
            label="not an escape",
            hint='escapes are \\n \\t \\r \\0 \\\\ \\" and \\u{1F600}; '
            'for a regular expression write a raw string: r"\\d+"',
        )


def value_offsets(literal: str, style: str) -> list[int]:
    """For each character of a string's value, its offset within `literal` (the
    text as written, quotes included), plus one entry for the end. Lets a
    diagnostic point inside a string even when escapes came before."""
    if style == "raw":
        return list(range(2, len(literal)))
    prefix = 3 if style == "long" else 1
    body = literal[prefix : len(literal) - prefix]
    offsets, i = [], 0
    while i < len(body):
        match = _ESCAPE_RE.match(body, i) if body[i] == "\\" else None
        offsets.append(prefix + i)
        i = match.end() if match else i + 1
    offsets.append(prefix + len(body))
    return offsets
