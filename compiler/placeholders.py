"""The template language: `{field}`, `{field?}`, `{field|lower}`, `{{`, `}}`.

Deliberately tiny and closed: a placeholder names a field of the template's
source and may apply pure formatters; nothing else runs. The compiler parses
templates here and lowers them to segments, so the runtime never parses them.
"""

from __future__ import annotations

import re

import attrs

FORMATTERS = ("lower", "upper", "trim")

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_BODY = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)(\?)?\s*((?:\|\s*[A-Za-z_]+\s*)*)\Z")


@attrs.frozen
class Placeholder:
    field: str
    optional: bool
    formatters: tuple[str, ...]
    start: int  # index in the template string, `{` included
    end: int


@attrs.frozen
class TemplateError:
    message: str
    start: int
    end: int
    hint: str
    label: str = "not a placeholder"


def parse_template(text: str) -> tuple[list, list[TemplateError]]:
    """Segments (str literals and Placeholders, in order) and any errors."""
    segments: list = []
    errors: list[TemplateError] = []
    pos = 0
    for match in _TOKEN.finditer(text):
        _literal(segments, text[pos:match.start()])
        pos = match.end()
        token = match.group(0)
        if token in ("{{", "}}"):
            _literal(segments, token[0])
        elif match.group(1) is None:
            errors.append(_stray(token, match.start()))
        else:
            _placeholder(match, segments, errors)
    _literal(segments, text[pos:])
    return segments, errors


def _literal(segments: list, text: str) -> None:
    if not text:
        return
    if segments and isinstance(segments[-1], str):
        segments[-1] += text
    else:
        segments.append(text)


def _stray(token: str, at: int) -> TemplateError:
    return TemplateError(
        f"a lone `{token}` in a template", at, at + 1,
        f"write `{token}{token}` for a literal brace, or close the placeholder",
    )


def _placeholder(match: re.Match, segments: list, errors: list[TemplateError]) -> None:
    body = _BODY.match(match.group(1))
    if body is None:
        errors.append(TemplateError(
            f"`{match.group(0)}` is not a placeholder", match.start(), match.end(),
            "placeholders read `{field}`, `{field?}` or `{field|lower}`; write `{{` for a literal brace",
        ))
        return
    formatters = tuple(f.strip() for f in body.group(3).split("|")[1:])
    unknown = [f for f in formatters if f not in FORMATTERS]
    if unknown:
        errors.append(TemplateError(
            f"`{unknown[0]}` is not a template formatter", match.start(), match.end(),
            "formatters are " + ", ".join(f"`{f}`" for f in FORMATTERS), "unknown formatter",
        ))
        return
    segments.append(Placeholder(body.group(1), bool(body.group(2)), formatters, match.start(), match.end()))
