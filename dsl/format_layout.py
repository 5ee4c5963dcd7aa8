"""The formatter's layout tree, comment attachment and printing.

`formatter.py` turns AST nodes into `Node`s; this module attaches the source's
comments to them by position and prints the tree in the canonical style (see
the `formatter` module docstring for the rules).
"""

from __future__ import annotations

import bisect
from typing import Iterable

import attrs
from lark.exceptions import LarkError

from . import ast
from .cst import Attr, CstReader, Seq, Stmt
from .diagnostics import DiagnosticSink
from .parser import Comment, parse
from .source import SourceFile

WIDTH = 88
INDENT = "  "


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

