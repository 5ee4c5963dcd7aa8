"""Readers: the `read` stage. One input file in, typed source rows and rejects out.

`read_source(params, root, stage_id, source)` reads `root / params["path"]` in
the plan's `format` and yields, in file order, a `SourceRow` for every good row
and a `Reject` for every bad one. Bad data never raises and is never skipped
silently (DESIGN.md, principle 2); only what stops the whole run raises a
`RunError`: a missing or unreadable file, a `json` file that is not one valid
array, parquet without pyarrow, a plan this reader cannot understand.

Row identity (`RowId(source, row, part)`, see records.py):

- jsonl: `row` is the 0-based *physical* line index (`line - 1`), so blank lines
  count: a row keeps the identity `docs/language.md` promises ("its line number
  in the file") and a reject points at the line an editor shows. Blank or
  whitespace-only lines are not records: they are skipped, and are neither
  rows nor rejects. A UTF-8 byte order mark at the start of the file is ignored.
- json: `row` is the element index in the top-level array; `line` is None.
- csv/tsv: `row` is the 0-based index among data records (the header and blank
  lines are not counted; a ragged or undecodable record is counted); `line` is
  the 1-based line where the record starts.
- parquet: `row` is the 0-based row index in the file; `line` is None.
- `part` is the element index when the source explodes a list field, else 0.

Streaming: jsonl, csv and tsv are read a line at a time and parquet a batch
at a time, so memory does not grow with the file; a json array is loaded whole.

Every reject has the stage, the source, the file (as the plan gives it), `row`,
`line` (when the format has lines), a `rule` and a reason that starts with where
the record is (`line 2279: invalid JSON: ...`, `element 3: ...`, `row 7: ...`):

- `json`: a line that is not valid JSON, or whose value is not an object
  (value: the line's text, or the parsed value);
- `encoding`: a line that is not valid UTF-8 (value: the text with the bad
  bytes shown as `\\xNN`);
- `csv`: a record with a different number of cells than the header, or one the
  csv module cannot parse (value: the cells);
- `schema`: a required field missing or null, a value of the wrong type
  (value: the offending value), or an `explode` field that is missing, not a
  list or empty. An exploded element that fails is rejected alone (`part` is
  set); the other elements of its record are still rows.

Modules: read_common.py (the per-source context, explode), read_fields.py
(types and CSV conversion), read_paths.py (field paths), read_csv.py (csv, tsv).
"""

from __future__ import annotations

import pathlib
from typing import Any, Iterator

import orjson

from .errors import RunError
from .read_common import ReadContext, check_file, make_row_id, open_input
from .read_csv import read_delimited
from .read_fields import compile_schema
from .read_paths import describe
from .records import Reject, SourceRow

FORMATS = ("jsonl", "json", "csv", "tsv", "parquet")
_BOM = b"\xef\xbb\xbf"
PARQUET_HINT = "pip install 'recipekit[parquet]'"


def read_source(params: dict, root: pathlib.Path, stage_id: str, source: str,
                span: tuple[int, int, int] | None = None) -> Iterator[SourceRow | Reject]:
    """Rows and rejects of one `read` stage, in file order (see the module docstring).

    `span = (start, end, first_row)` reads only the JSONL lines that start at
    byte offsets in [start, end), `start` being the start of line `first_row`:
    how worker processes share a file (runtime/row_workers.py)."""
    fmt = params.get("format")
    if fmt not in FORMATS:
        raise RunError(f"unknown input format {fmt!r}", hint=f"formats are {', '.join(FORMATS)}",
                       file=params.get("path"))
    file = params["path"]
    path = pathlib.Path(root) / file
    schema = compile_schema(params.get("fields") or [], coerce=fmt in ("csv", "tsv"))
    ctx = ReadContext(stage_id, source, file, path, schema, params.get("explode"))
    check_file(ctx)
    if fmt == "jsonl":
        return read_jsonl(ctx, *(span or ()))
    if fmt == "json":
        return read_json_array(ctx)
    if fmt == "parquet":
        return read_parquet(ctx)
    return read_delimited(ctx, "\t" if fmt == "tsv" else ",")


def read_jsonl(ctx: ReadContext, start: int = 0, end: int | None = None,
               first_row: int = 0) -> Iterator[SourceRow | Reject]:
    loads, JSONDecodeError = orjson.loads, orjson.JSONDecodeError
    extract, source, row_id = ctx.schema.extract, ctx.source, make_row_id
    fast = ctx.explode is None
    with open_input(ctx) as f:
        try:
            f.seek(start)
            if start == 0 and f.read(3) != _BOM:
                f.seek(0)
            lines = f if end is None else _lines_before(f, end - f.tell())
            for row, raw in enumerate(lines, first_row):
                try:
                    record = loads(raw)
                except JSONDecodeError as error:
                    if raw.strip():
                        yield bad_line(ctx, raw, row, error)
                    continue
                if fast and type(record) is dict:
                    fields = extract(record)
                    if fields is not None:
                        yield SourceRow(row_id(source, row), fields, row + 1)
                        continue
                yield from ctx.record_rows(record, row, row + 1, f"line {row + 1}")
        except OSError as error:
            raise RunError(f"reading {ctx.path} failed: {error.strerror or error}", file=ctx.file) from error


def _lines_before(f, budget: int) -> Iterator[bytes]:
    """The lines of `f` that start within the next `budget` bytes."""
    for raw in f:
        if budget <= 0:
            return
        budget -= len(raw)
        yield raw


def bad_line(ctx: ReadContext, raw: bytes, row: int, error: orjson.JSONDecodeError) -> Reject:
    line = row + 1
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        text = raw.decode("utf-8", "backslashreplace").rstrip("\r\n")
        return ctx.reject("encoding", f"line {line}: invalid UTF-8 at byte {bad.start}: {bad.reason}", text,
                          row, line)
    return ctx.reject("json", f"line {line}: invalid JSON: {error.msg} (column {error.colno})",
                      text.rstrip("\r\n"), row, line)


def read_json_array(ctx: ReadContext) -> Iterator[SourceRow | Reject]:
    with open_input(ctx) as f:
        try:
            data = f.read()
        except OSError as error:
            raise RunError(f"reading {ctx.path} failed: {error.strerror or error}", file=ctx.file) from error
    if data.startswith(_BOM):
        data = data[3:]
    try:
        records = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as bad:
            raise RunError(f"the file is not valid UTF-8 (byte {bad.start}: {bad.reason})", file=ctx.file) from None
        raise RunError(f"invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}", file=ctx.file,
                       hint="a json source is one JSON array of objects; use jsonl for one object per line"
                       ) from None
    if type(records) is not list:
        raise RunError(f"a json source must hold one array of objects; this file holds {describe(records, 30)}",
                       file=ctx.file, hint="use format jsonl for one object per line, or wrap the objects in [ ]")
    return _array_rows(ctx, records)


def _array_rows(ctx: ReadContext, records: list) -> Iterator[SourceRow | Reject]:
    for row, record in enumerate(records):
        yield from ctx.record_rows(record, row, None, f"element {row}")


def read_parquet(ctx: ReadContext) -> Iterator[SourceRow | Reject]:
    try:
        import pyarrow
        import pyarrow.parquet as pq
    except ImportError:
        raise RunError("reading parquet needs the pyarrow package, which is not installed", hint=PARQUET_HINT,
                       file=ctx.file) from None
    try:
        parquet = pq.ParquetFile(ctx.path)
    except Exception as error:  # pyarrow raises ArrowInvalid, OSError, ...
        raise RunError(f"cannot read parquet: {error}", file=ctx.file) from None
    wanted = set(ctx.schema.columns)
    if ctx.explode:
        wanted.add(ctx.explode)
    columns = [name for name in parquet.schema_arrow.names if name in wanted]
    return _parquet_rows(ctx, parquet, columns or None, (OSError, pyarrow.ArrowException))


def _parquet_rows(ctx: ReadContext, parquet: Any, columns: list[str] | None,
                  failures: tuple[type[BaseException], ...]) -> Iterator[SourceRow | Reject]:
    row = 0
    try:
        for batch in parquet.iter_batches(batch_size=16384, columns=columns):
            for record in batch.to_pylist():
                yield from ctx.record_rows(record, row, None, f"row {row}")
                row += 1
    except failures as error:
        raise RunError(f"reading {ctx.path} failed: {error}", file=ctx.file) from error
