"""CSV and TSV: a header line naming the columns, then one record per line.

The file is read in binary a line at a time and each line decoded here, so
that a line that is not UTF-8 rejects its record (rule `encoding`) instead of
stopping the run. CSV follows RFC 4180 (quoted cells may hold commas, quotes
and newlines; a record then spans several lines, and `line` is where it
starts). TSV has no quoting at all (`"` is an ordinary character, as in the
GLUE files), so a cell cannot hold a tab or a newline.

Cells are text: compile_schema(coerce=True) converts them to the declared
types. A field's path names a column (its first step); a record with another
number of cells than the header is a `csv` reject, as is one the csv module
cannot parse (an unterminated quote, say). Blank lines are skipped. A cell may
be as large as memory allows (the csv module's 128 KiB default limit is
raised, for the whole process, the first time a file is read).
"""

from __future__ import annotations

import csv
from typing import Iterator

from .errors import RunError
from .read_common import ReadContext, make_row_id, open_input
from .records import Reject, SourceRow

_FIELD_LIMIT = 2**31 - 1


def read_delimited(ctx: ReadContext, delimiter: str) -> Iterator[SourceRow | Reject]:
    if csv.field_size_limit() < _FIELD_LIMIT:
        csv.field_size_limit(_FIELD_LIMIT)
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    with open_input(ctx) as f:
        try:
            yield from _records(ctx, f, delimiter, quoting)
        except OSError as error:
            raise RunError(f"reading {ctx.path} failed: {error.strerror or error}", file=ctx.file) from error


def _records(ctx: ReadContext, f, delimiter: str, quoting: int) -> Iterator[SourceRow | Reject]:
    bad_lines: dict[int, str] = {}  # line number -> its text, bad bytes as \\xNN
    reader = csv.reader(_decoded_lines(f, bad_lines), delimiter=delimiter, quoting=quoting, strict=True)
    header = _header(ctx, reader, bad_lines)
    if header is None:
        return
    width = len(header)
    extract, explode, source = ctx.schema.extract, ctx.explode, ctx.source
    end = reader.line_num
    row = -1
    while True:
        start = end + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            end = reader.line_num
            row += 1
            yield ctx.reject("csv", f"line {start}: cannot parse the record: {error}", None, row, start)
            continue
        end = reader.line_num
        if not cells:
            continue
        row += 1
        if bad_lines:
            bad = sorted(n for n in bad_lines if start <= n <= end)
            if bad:
                text = "".join(bad_lines.pop(n) for n in bad)
                yield ctx.reject("encoding", f"line {bad[0]}: invalid UTF-8", text.rstrip("\r\n"), row, start)
                continue
        if len(cells) != width:
            yield ctx.reject("csv", f"line {start}: {len(cells)} cells, the header has {width} columns",
                             cells, row, start)
            continue
        record = dict(zip(header, cells))
        if explode is None:
            fields = extract(record)
            if fields is not None:
                yield SourceRow(make_row_id(source, row), fields, start)
                continue
        yield from ctx.record_rows(record, row, start, f"line {start}")


def _header(ctx: ReadContext, reader, bad_lines: dict[int, str]) -> list[str] | None:
    for cells in reader:
        if not cells:
            continue
        if bad_lines:
            raise RunError("the header line is not valid UTF-8", file=ctx.file)
        declared = set(ctx.schema.columns)
        twice = sorted({c for c in cells if c in declared and cells.count(c) > 1})
        if twice:
            raise RunError(f"the header names the column {twice[0]!r} more than once", file=ctx.file)
        return cells
    return None  # an empty file: no header, no rows


def _decoded_lines(f, bad_lines: dict[int, str]) -> Iterator[str]:
    first = True
    for number, raw in enumerate(f, 1):
        if first:
            first = False
            if raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            bad_lines[number] = raw.decode("utf-8", "backslashreplace")
            yield raw.decode("utf-8", "replace")
