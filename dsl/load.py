"""The front end in one call: bytes → text → parse tree → AST, with diagnostics.

`load_file` never raises for anything a user can put in a file: an unreadable,
binary or non-UTF-8 file, a syntax error or a misplaced attribute all come back
as diagnostics in the result.
"""

from __future__ import annotations

from pathlib import Path

import attrs
from lark import UnexpectedInput

from . import ast
from .build_ast import AstBuilder
from .cst import CstReader
from .diagnostics import Diagnostic, DiagnosticSink
from .parser import Comment, ParseResult, parse
from .source import SourceFile
from .syntax_errors import MAX_DEPTH, MAX_ERRORS, SyntaxErrorReporter, blank_line, is_recoverable, too_deep

_BINARY_SNIFF = 8192


@attrs.frozen
class LoadResult:
    source: SourceFile | None
    recipe: ast.Recipe | None
    comments: tuple[Comment, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def ok(self) -> bool:
        return self.recipe is not None and not any(d.is_error for d in self.diagnostics)


def load_file(path: str | Path, display_name: str | None = None) -> LoadResult:
    name = display_name or str(path)
    sink = DiagnosticSink()
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        sink.report("F001", None, f"cannot read `{name}`: {err.strerror or err}",
                    hint="check the path and its permissions")
        return LoadResult(None, None, (), tuple(sink))
    source = decode(data, name, sink)
    if sink.has_errors:
        return LoadResult(source, None, (), tuple(sink))
    return load_source(source, sink)


def load_text(text: str, name: str = "<recipe>") -> LoadResult:
    return load_source(SourceFile(name, text), DiagnosticSink())


def decode(data: bytes, name: str, sink: DiagnosticSink) -> SourceFile:
    """UTF-8 text (a BOM is dropped); binary and undecodable files are errors."""
    if b"\0" in data[:_BINARY_SNIFF]:
        source = SourceFile(name, "")
        sink.report("P003", None, f"`{name}` is a binary file, not a recipe",
                    hint="recipes are UTF-8 text files ending in .recipe")
        return source
    try:
        return SourceFile(name, data.decode("utf-8-sig"))
    except UnicodeDecodeError as err:
        text = data.decode("utf-8-sig", errors="replace")
        source = SourceFile(name, text)
        offset = len(data[: err.start].decode("utf-8-sig", errors="replace"))
        sink.report(
            "P002", source.span(offset, offset + 1),
            f"`{name}` is not UTF-8 text: byte 0x{data[err.start]:02x} cannot be decoded",
            label="not UTF-8", hint="save the file as UTF-8",
        )
        return source


def load_source(source: SourceFile, sink: DiagnosticSink) -> LoadResult:
    parsed = parse_with_recovery(source, sink)
    if parsed is None:
        return LoadResult(source, None, (), tuple(sink))
    items = CstReader(source, sink).items(parsed.tree.children[0])
    if not items:
        sink.report("P001", source.span(0, 0), f"`{source.name}` declares nothing",
                    label="empty recipe", hint="run `recipekit init` for a commented starter recipe")
        return LoadResult(source, None, parsed.comments, tuple(sink))
    recipe = AstBuilder(source, sink).build(items)
    return LoadResult(source, recipe, parsed.comments, tuple(sink.sorted()))


def parse_with_recovery(source: SourceFile, sink: DiagnosticSink) -> ParseResult | None:
    """Parse; on a syntax error report it, blank its line and look for more."""
    deep = too_deep(source.text)
    if deep is not None:  # the tree walkers recurse per level: refuse before they overflow
        sink.report("P011", source.span(deep.offset, deep.offset + 1),
                    f"brackets are nested more than {MAX_DEPTH} levels deep here",
                    label="too deep", hint="no recipe needs this much nesting; look for a missing closing bracket")
        return None
    text, reported_lines = source.text, set()
    for _ in range(MAX_ERRORS):
        try:
            result = parse(text)
        except UnexpectedInput as error:
            failure = error
        else:
            return result if not reported_lines else None
        diag = _report_once(SourceFile(source.name, text), failure, sink, reported_lines)
        if diag is None or not is_recoverable(diag):
            return None
        text = blank_line(text, diag.span.start)
        if text is None:
            return None
    return None


def _report_once(source: SourceFile, error: UnexpectedInput, sink: DiagnosticSink, seen: set[int]):
    """Report an error found on a fresh line; errors after recovery must be local ones.

    `source` is the text as parsed (lines already reported are blanked); its
    offsets are those of the original file.
    """
    scratch = DiagnosticSink()
    diag = SyntaxErrorReporter(source, scratch).report(error)
    line = source.position(diag.span.start).line if diag.span else 0
    if seen and (line in seen or not is_recoverable(diag)):
        return None
    seen.add(line)
    sink.extend(scratch)
    return diag
