"""Source files and spans: where a piece of recipe text came from.

A `Span` is a pair of character offsets into one `SourceFile` (end exclusive),
as Lark reports them. Lines and columns are computed only when a diagnostic is
rendered, from a line index built once per file (binary search, as codespan
does), so nodes stay small and positions cannot disagree with each other.
"""

from __future__ import annotations

import bisect

import attrs


@attrs.frozen
class Span:
    """Character offsets `start:end` into the text of file `file`."""

    file: str
    start: int
    end: int

    def cover(self, other: Span) -> Span:
        """The smallest span that contains both spans (same file)."""
        return Span(self.file, min(self.start, other.start), max(self.end, other.end))


@attrs.frozen
class Position:
    """A 1-based line and column, and the 0-based character offset."""

    line: int
    column: int
    offset: int


@attrs.frozen(eq=False)
class SourceFile:
    """The text of one recipe file and its line index."""

    name: str
    text: str
    _line_starts: tuple[int, ...] = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        starts = [0]
        starts.extend(i + 1 for i, ch in enumerate(self.text) if ch == "\n")
        object.__setattr__(self, "_line_starts", tuple(starts))

    @property
    def line_count(self) -> int:
        return len(self._line_starts)

    def position(self, offset: int) -> Position:
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self._line_starts, offset) - 1
        return Position(line + 1, offset - self._line_starts[line] + 1, offset)

    def line_text(self, line: int) -> str:
        """The text of 1-based `line`, without its line break."""
        start = self._line_starts[line - 1]
        end = self._line_starts[line] - 1 if line < len(self._line_starts) else len(self.text)
        return self.text[start:end].rstrip("\r")

    def line_start(self, line: int) -> int:
        return self._line_starts[line - 1]

    def span(self, start: int, end: int) -> Span:
        return Span(self.name, start, end)

    def snippet(self, span: Span) -> str:
        return self.text[span.start : span.end]
