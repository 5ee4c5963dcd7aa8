"""Reading one block's body: its attributes, nested blocks and value kinds.

Every mistake becomes a diagnostic that names the block and the key, in the
words of the language ("expected a string or a list of strings after
`instruction =`"), with a did-you-mean where a close word exists.
"""

from __future__ import annotations

from typing import Iterable

from . import ast
from .cst import Attr, Op, Seq, Stmt
from .diagnostics import DiagnosticSink, Label
from .source import SourceFile, Span
from .vocabulary import did_you_mean, one_of


def describe(value) -> str:
    """What a value is, for `found ...` labels."""
    if isinstance(value, ast.Str):
        return "a string"
    if isinstance(value, ast.Number):
        return "a percentage" if value.percent else "a number"
    if isinstance(value, ast.Name):
        return f"the name `{value.value}`"
    if isinstance(value, ast.Range):
        return "a range"
    if isinstance(value, Seq):
        return "a list" if value.bracket == "[" else "a parenthesised tuple"
    if isinstance(value, Op):
        return f"`{value.value}`"
    return "something else"


def span_of_all(values: Iterable) -> Span:
    spans = [v.span for v in values]
    out = spans[0]
    for span in spans[1:]:
        out = out.cover(span)
    return out


class BlockReader:
    """The items of one block, sorted into attributes and nested blocks."""

    def __init__(self, kind: str, stmt: Stmt, sink: DiagnosticSink, source: SourceFile,
                 attributes: tuple[str, ...], nested: tuple[str, ...] = ()) -> None:
        self.kind = kind
        self.stmt = stmt
        self.sink = sink
        self.source = source
        self.attrs: dict[str, Attr] = {}
        self.blocks: list[Stmt] = []
        self.rest: list = []
        for item in stmt.body or ():
            self._sort(item, attributes, nested)

    @property
    def title(self) -> str:
        """How the block is called in messages: `source sst2`."""
        head = self.source.snippet(self.stmt.span.cover(self.stmt.head.span))
        return " ".join(head.split("{", 1)[0].split())

    def _sort(self, item, attributes: tuple[str, ...], nested: tuple[str, ...]) -> None:
        if isinstance(item, Attr) and isinstance(item.key, ast.Str) and item.key.value in attributes \
                and not attributes_only_rest(self.kind):
            self.sink.report("S004", item.key.span, f"attribute names are not quoted: `{item.key.value}`",
                             label="quoted name", hint=f"write `{item.key.value} = ...`")
            item = Attr(ast.Name(item.key.value, span=item.key.span), item.args, item.span)
        if isinstance(item, Attr) and isinstance(item.key, ast.Name) and item.key.value in attributes:
            self._add_attr(item)
        elif isinstance(item, Stmt) and item.body is not None and item.head.value in nested:
            self.blocks.append(item)
        elif isinstance(item, Attr) and isinstance(item.key, ast.Name) and not attributes_only_rest(self.kind):
            self.unknown_attr(item, attributes)
        else:
            self.rest.append(item)

    def _add_attr(self, item: Attr) -> None:
        key = item.key.value
        first = self.attrs.get(key)
        if first is None:
            self.attrs[key] = item
            return
        self.sink.report(
            "S005", item.key.span, f"`{key}` is set twice in `{self.title}`",
            label="set again here", secondary=[Label(first.key.span, "first set here")],
            hint="keep one of them",
        )

    def unknown_attr(self, item: Attr, attributes: tuple[str, ...]) -> None:
        key = item.key.value
        known = one_of(attributes) if attributes else "no attributes"
        self.sink.report(
            "S004", item.key.span, f"`{self.kind}` blocks have no attribute `{key}`",
            label="unknown attribute",
            hint=did_you_mean(key, attributes) or f"a `{self.kind}` block takes {known}",
        )

    def require(self, key: str) -> Attr | None:
        attr = self.attrs.get(key)
        if attr is None:
            self.sink.report(
                "S007", self.stmt.head.span, f"`{self.title}` has no `{key}`",
                label=f"`{key} = ...` is required in this block",
                hint=f"add `{key} = ...` inside the braces",
            )
        return attr

    def misplaced(self, item, why: str, hint: str | None = None) -> None:
        self.sink.report("S011", item.span, why, label="does not belong here", hint=hint)

    # -- value readers: each returns None after reporting a problem -----------

    def wrong(self, attr: Attr, expected: str, found=None) -> None:
        key = self.source.snippet(attr.key.span)
        if found is None:
            found = attr.args[0] if len(attr.args) == 1 else None
        label = f"found {describe(found)}" if found is not None else "found several values"
        span = found.span if found is not None else span_of_all(attr.args)
        self.sink.report("S006", span, f"expected {expected} after `{key} =`", label=label,
                         hint=_value_hint(expected, found))

    def single(self, attr: Attr, expected: str):
        if len(attr.args) != 1:
            first, extra = attr.args[0], attr.args[1]
            self.wrong(attr, expected + " (one value)", extra)
            if isinstance(first, ast.Str) and first.style == "long" and isinstance(extra, ast.Str) \
                    and extra.span.start == first.span.end:
                self.sink.report("S006", extra.span, 'a `"` just before the closing `"""` ends the string early',
                                 label="read as a second string", hint='write the last quote as `\\"`')
            return None
        return attr.args[0]

    def string(self, attr: Attr | None) -> ast.Str | None:
        if attr is None:
            return None
        value = self.single(attr, "a string")
        if value is not None and not isinstance(value, ast.Str):
            return self.wrong(attr, "a string")
        return value

    def strings(self, attr: Attr | None) -> tuple[ast.Str, ...] | None:
        if attr is None:
            return None
        expected = "a string or a list of strings"
        value = self.single(attr, expected)
        if isinstance(value, ast.Str):
            return (value,)
        if isinstance(value, Seq) and value.bracket == "[" and value.items:
            bad = next((v for v in value.items if not isinstance(v, ast.Str)), None)
            if bad is None:
                return value.items
            return self.wrong(attr, "a list of strings", bad)
        if value is not None:
            self.wrong(attr, expected)
        return None

    def number(self, attr: Attr | None, *, integer: bool = False) -> ast.Number | None:
        if attr is None:
            return None
        expected = "a whole number" if integer else "a number"
        value = self.single(attr, expected)
        if isinstance(value, ast.Number) and not value.percent:
            if not integer or isinstance(value.value, int):
                return value
        if value is not None:
            self.wrong(attr, expected)
        return None

    def name(self, attr: Attr | None, options: tuple[str, ...] | None = None) -> ast.Name | None:
        if attr is None:
            return None
        expected = f"one of {one_of(options)}" if options else "a name"
        value = self.single(attr, expected)
        if not isinstance(value, ast.Name):
            return self.wrong(attr, expected) if value is not None else None
        if options and value.value not in options:
            self.sink.report(
                "S008", value.span, f"`{value.value}` is not a valid `{attr.key.value}`",
                label=f"expected {one_of(options)}",
                hint=did_you_mean(value.value, options),
            )
            return None
        return value

    def boolean(self, attr: Attr | None) -> ast.Bool | None:
        if attr is None:
            return None
        value = self.single(attr, "`true` or `false`")
        if isinstance(value, ast.Name) and value.value in ("true", "false"):
            return ast.Bool(value.value == "true", span=value.span)
        if value is not None:
            self.wrong(attr, "`true` or `false`")
        return None

    def names(self, attr: Attr | None, options: tuple[str, ...] | None = None) -> tuple[ast.Name, ...] | None:
        """A name or a list of names: `x`, `[x, y]`."""
        if attr is None:
            return None
        value = self.single(attr, "a name or a list of names")
        items = value.items if isinstance(value, Seq) else (value,)
        if value is None or not all(isinstance(v, ast.Name) for v in items):
            return self.wrong(attr, "a name or a list of names") if value is not None else None
        return tuple(v for v in items if self._allowed(attr, v, options))

    def _allowed(self, attr: Attr, value: ast.Name, options: tuple[str, ...] | None) -> bool:
        if not options or value.value in options:
            return True
        self.sink.report(
            "S008", value.span, f"`{value.value}` is not a valid `{attr.key.value}`",
            label=f"expected {one_of(options)}", hint=did_you_mean(value.value, options),
        )
        return False


def _value_hint(expected: str, found) -> str | None:
    if "string" in expected and isinstance(found, ast.Name):
        return f'put the text in double quotes: "{found.value}"'
    if "number" in expected and isinstance(found, ast.Str):
        try:
            float(found.value)
        except ValueError:
            return None
        return f"remove the quotes: {found.value}"
    if "number" in expected and isinstance(found, ast.Number) and found.percent:
        return "write the number without `%`"
    return None


def attributes_only_rest(kind: str) -> bool:
    """Blocks whose unknown `key = value` items mean something else (mix entries, labels)."""
    return kind in ("mix", "labels")
