"""Diagnostics: the one model for every problem recipekit reports.

A diagnostic is data (code, severity, message, primary span and label,
secondary labels, notes, hint); `dsl/render.py` turns it into text or JSON.
Phases never raise on a user's mistake: they report to a `DiagnosticSink` and
carry on, so one run shows every problem it can find.
"""

from __future__ import annotations

import enum
from typing import Iterable, Iterator

import attrs

from .codes import lookup
from .source import Span


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"
    BUG = "bug"  # recipekit's own fault: a diagnostic instead of a traceback


@attrs.frozen
class Label:
    """A span with a short message; secondary labels point at related text."""

    span: Span
    message: str = ""


@attrs.frozen
class Diagnostic:
    code: str
    severity: Severity
    message: str
    span: Span | None
    label: str = ""
    secondary: tuple[Label, ...] = attrs.field(default=(), converter=tuple)
    notes: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    hint: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity in (Severity.ERROR, Severity.BUG)

    def sort_key(self) -> tuple:
        if self.span is None:
            return ("", -1, self.code)
        return (self.span.file, self.span.start, self.code)


class DiagnosticSink:
    """Collects diagnostics; the severity comes from the code's registry entry."""

    def __init__(self) -> None:
        self._items: list[Diagnostic] = []

    def report(
        self,
        code: str,
        span: Span | None,
        message: str,
        *,
        label: str = "",
        secondary: Iterable[Label] = (),
        notes: Iterable[str] = (),
        hint: str | None = None,
    ) -> Diagnostic:
        severity = Severity(lookup(code).severity)
        diag = Diagnostic(code, severity, message, span, label, tuple(secondary), tuple(notes), hint)
        self._items.append(diag)
        return diag

    def extend(self, diagnostics: Iterable[Diagnostic]) -> None:
        self._items.extend(diagnostics)

    def __iter__(self) -> Iterator[Diagnostic]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self._items)

    def sorted(self) -> list[Diagnostic]:
        return sorted(self._items, key=Diagnostic.sort_key)
