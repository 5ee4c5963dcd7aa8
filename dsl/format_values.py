"""The formatter's literals: strings in their style, numbers as written, lists."""

from __future__ import annotations

import re
import unicodedata

from . import ast
from .format_layout import Node, leaf


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


