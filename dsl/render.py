"""Two views over the same diagnostics: text for people, JSON Lines for tools.

The human view follows codespan-reporting / rustc: a header, a `┌─ file:line:col`
locator, the source lines as written with `^` under the primary span and `-`
under secondary labels, then `= note:` / `= hint:` lines. Every piece of user
text (messages, source lines) goes into `rich.text.Text` objects, never through
rich's markup parser, so `[red]` in a recipe prints as written and `[/x]` cannot
raise `MarkupError`. The JSON view is described by specs/diagnostic.schema.json.
"""

from __future__ import annotations

import json
import unicodedata
from typing import IO, Iterable, Mapping, NamedTuple

from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from .diagnostics import Diagnostic, Severity
from .source import Position, SourceFile, Span

TAB_WIDTH = 4
GUTTER_STYLE = "bold blue"
SECONDARY_STYLE = "bold blue"
SEVERITY_STYLES = {
    Severity.ERROR: "bold red",
    Severity.WARNING: "bold yellow",
    Severity.NOTE: "bold cyan",
    Severity.BUG: "bold magenta",
}


class _Label(NamedTuple):
    span: Span
    message: str
    primary: bool


class _Marker(NamedTuple):
    """One underline: character indices `start:end` on 1-based `line`."""

    line: int
    start: int
    end: int
    message: str
    primary: bool


# -- human view ----------------------------------------------------------------


def render_human(
    diagnostics: Iterable[Diagnostic], sources: Mapping[str, SourceFile], console: Console
) -> None:
    """Print each diagnostic as a codespan-style report, each followed by a blank line."""
    for diag in diagnostics:
        for line in _diagnostic_lines(diag, sources):
            # soft_wrap: a long source line must not be wrapped or cropped,
            # or the carets under it would point at the wrong characters.
            console.print(line, soft_wrap=True, highlight=False)
        console.print()


def _diagnostic_lines(diag: Diagnostic, sources: Mapping[str, SourceFile]) -> list[Text]:
    groups = _labels_by_file(diag)
    markers = {
        name: [m for label in labels for m in _label_markers(label, sources[name])]
        for name, labels in groups.items()
        if name in sources
    }
    shown = [m.line for file_markers in markers.values() for m in file_markers]
    width = len(str(max(shown, default=1)))
    lines = [_header(diag)]
    for index, (name, labels) in enumerate(groups.items()):
        if index:
            lines.append(_gutter(width, "│"))
        lines.append(_locator(width, name, labels[0].span, sources.get(name)))
        if name in markers:
            lines.extend(_snippet(markers[name], sources[name], width, diag.severity))
        else:
            lines.extend(_unshown_labels(labels, width, diag.severity))
    lines.extend(_footer(diag, width, has_snippet=bool(groups)))
    return lines


def _header(diag: Diagnostic) -> Text:
    style = SEVERITY_STYLES[diag.severity]
    code = f"[{diag.code}]" if diag.code else ""
    return Text.assemble((f"{diag.severity.value}{code}", style), (f": {diag.message}", "bold"))


def _labels_by_file(diag: Diagnostic) -> dict[str, list[_Label]]:
    """Labels grouped per file; the primary span's file comes first."""
    labels = [_Label(label.span, label.message, False) for label in diag.secondary]
    if diag.span is not None:
        labels.insert(0, _Label(diag.span, diag.label, True))
    groups: dict[str, list[_Label]] = {}
    for label in labels:
        groups.setdefault(label.span.file, []).append(label)
    return groups


def _locator(width: int, name: str, span: Span, source: SourceFile | None) -> Text:
    where = name
    if source is not None:
        position = source.position(span.start)
        where = f"{name}:{position.line}:{position.column}"
    return Text.assemble((" " * (width + 1) + "┌─ ", GUTTER_STYLE), where)


def _gutter(width: int, bar: str, number: int | None = None) -> Text:
    label = str(number) if number is not None else ""
    return Text(f"{label:>{width}} {bar}", style=GUTTER_STYLE)


def _label_markers(label: _Label, source: SourceFile) -> list[_Marker]:
    """Underlines for one label: one line, or the first and last lines of a long span."""
    first = source.position(label.span.start)
    last, end = _span_end(label.span, source, first)
    if last == first.line:
        return [_Marker(first.line, first.column - 1, end, label.message, label.primary)]
    first_text, last_text = source.line_text(first.line), source.line_text(last)
    indent = len(last_text) - len(last_text.lstrip())
    return [
        _Marker(first.line, first.column - 1, len(first_text), "", label.primary),
        _Marker(last, indent if indent < end else 0, end, label.message, label.primary),
    ]


def _span_end(span: Span, source: SourceFile, first: Position) -> tuple[int, int]:
    """The line holding the span's last character and the character index after it."""
    if span.end <= span.start:
        return first.line, first.column - 1
    # Use the last character, not `end`: a span ending with its line break
    # stops on that line, not at column 1 of the next one.
    last = source.position(span.end - 1)
    return last.line, min(last.column, len(source.line_text(last.line)))


def _snippet(
    markers: list[_Marker], source: SourceFile, width: int, severity: Severity
) -> list[Text]:
    lines = [_gutter(width, "│")]
    previous = None
    for number in sorted({m.line for m in markers}):
        if previous is not None and number > previous + 1:
            lines.append(_gutter(width, "·"))  # lines skipped between two labels
        text, columns = _display_columns(source.line_text(number))
        lines.append(_gutter(width, "│ " if text else "│", number) + Text(text))
        on_line = sorted((m for m in markers if m.line == number), key=lambda m: m.start)
        lines.extend(_marker_line(m, columns, width, severity) for m in on_line)
        previous = number
    return lines


def _display_columns(line: str) -> tuple[str, list[int]]:
    """The line as displayed, and the terminal cell where each character starts.

    Tabs become spaces up to the next tab stop, and wide (CJK, emoji)
    characters count two cells, so carets land under the right characters.
    """
    parts, columns = [], [0]
    for char in line:
        if char == "\t":
            char = " " * (TAB_WIDTH - columns[-1] % TAB_WIDTH)
        elif unicodedata.category(char) == "Cc":
            char = "\ufffd"  # never send a file's control bytes to the terminal
        parts.append(char)
        columns.append(columns[-1] + cell_len(char))
    return "".join(parts), columns


def _marker_line(marker: _Marker, columns: list[int], width: int, severity: Severity) -> Text:
    start = columns[min(marker.start, len(columns) - 1)]
    end = columns[min(marker.end, len(columns) - 1)]
    underline = ("^" if marker.primary else "-") * max(1, end - start)
    if marker.message:
        underline += " " + marker.message
    style = SEVERITY_STYLES[severity] if marker.primary else SECONDARY_STYLE
    return _gutter(width, "│ ") + Text(" " * start) + Text(underline, style=style)


def _unshown_labels(labels: list[_Label], width: int, severity: Severity) -> list[Text]:
    """Label messages for a file whose text we do not have: no snippet, keep the words."""
    return [
        _marker_line(_Marker(0, 0, 0, label.message, label.primary), [0], width, severity)
        for label in labels
        if label.message
    ]


def _footer(diag: Diagnostic, width: int, has_snippet: bool) -> list[Text]:
    items = [("note", note) for note in diag.notes]
    if diag.hint:
        items.append(("hint", diag.hint))
    lines = [_gutter(width, "│")] if items and has_snippet else []
    for kind, message in items:
        prefix = " " * (width + 1) + f"= {kind}: "
        # Continuation lines of a multi-line note line up after the prefix.
        body = message.replace("\n", "\n" + " " * len(prefix))
        lines.append(Text.assemble((prefix, "bold"), body))
    return lines


# -- summary -------------------------------------------------------------------


def render_summary(diagnostics: Iterable[Diagnostic], console: Console, files_checked: int) -> None:
    """One closing line, e.g. `2 errors, 1 warning in 3 files` or `no problems in 1 file`."""
    counts = {severity: 0 for severity in Severity}
    for diag in diagnostics:
        counts[diag.severity] += 1
    order = (Severity.BUG, Severity.ERROR, Severity.WARNING, Severity.NOTE)
    parts = [_plural(counts[s], s.value) for s in order if counts[s]]
    problems = ", ".join(parts) if parts else "no problems"
    if counts[Severity.BUG] or counts[Severity.ERROR]:
        style = "bold red"
    else:
        style = "bold yellow" if counts[Severity.WARNING] else "bold green"
    console.print(Text(f"{problems} in {_plural(files_checked, 'file')}", style=style))


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


# -- JSON view -------------------------------------------------------------------


def diagnostic_to_json(diag: Diagnostic, sources: Mapping[str, SourceFile]) -> dict:
    """The JSON form of one diagnostic (specs/diagnostic.schema.json); keys in a fixed order."""
    return {
        "code": diag.code,
        "severity": diag.severity.value,
        "message": diag.message,
        "file": diag.span.file if diag.span is not None else None,
        "range": _range_json(diag.span, sources),
        "label": diag.label,
        "secondary": [
            {
                "file": label.span.file,
                "range": _range_json(label.span, sources),
                "message": label.message,
            }
            for label in diag.secondary
        ],
        "notes": list(diag.notes),
        "hint": diag.hint,
        "explain": f"recipekit explain {diag.code}",
    }


def render_json(
    diagnostics: Iterable[Diagnostic], sources: Mapping[str, SourceFile], stream: IO[str]
) -> None:
    """Write JSON Lines: one diagnostic object per line, so tools can stream them."""
    for diag in diagnostics:
        stream.write(json.dumps(diagnostic_to_json(diag, sources), ensure_ascii=False) + "\n")


def _range_json(span: Span | None, sources: Mapping[str, SourceFile]) -> dict | None:
    # Without the file's text there are no lines or columns to report.
    if span is None or span.file not in sources:
        return None
    source = sources[span.file]
    return {"start": _position_json(source, span.start), "end": _position_json(source, span.end)}


def _position_json(source: SourceFile, offset: int) -> dict:
    position = source.position(offset)
    return {"line": position.line, "column": position.column, "offset": position.offset}
