"""What the readers of every format share: the per-source context and file checks."""

from __future__ import annotations

import pathlib
from typing import Any, Callable, Iterator

import attrs

from .errors import RunError
from .read_fields import Schema
from .read_paths import describe
from .records import Reject, RowId, SourceRow


def _row_id_maker() -> Callable[..., RowId]:
    """`make_row_id(source, row, part=0)`: a real RowId, about twice as fast to build.

    RowId is a frozen attrs class, whose `__init__` goes through
    `object.__setattr__` once per field; at a million rows that is a quarter of
    the reader's time. This fills the slots directly. It is used only while
    RowId is exactly what it was written as (three plain slotted fields, no
    validator, converter or post-init); otherwise it is RowId itself.
    """
    fields = attrs.fields(RowId)
    plain = (
        [f.name for f in fields] == ["source", "row", "part"]
        and all(f.validator is None and f.converter is None for f in fields)
        and "__slots__" in RowId.__dict__
        and not hasattr(RowId, "__attrs_post_init__")
    )
    if not plain:
        return RowId
    new = object.__new__
    set_source, set_row, set_part = (RowId.__dict__[name].__set__ for name in ("source", "row", "part"))

    def make_row_id(source: str, row: int, part: int = 0) -> RowId:
        made = new(RowId)
        set_source(made, source)
        set_row(made, row)
        set_part(made, part)
        return made

    return make_row_id


make_row_id = _row_id_maker()


class ReadContext:
    """What every reader of one source shares: where rejects point, the schema, explode."""

    __slots__ = ("stage", "source", "file", "path", "schema", "explode")

    def __init__(self, stage: str, source: str, file: str, path: pathlib.Path, schema: Schema,
                 explode: str | None) -> None:
        self.stage, self.source, self.file, self.path = stage, source, file, path
        self.schema, self.explode = schema, explode

    def reject(self, rule: str, reason: str, value: Any, row: int, line: int | None,
               part: int | None = None) -> Reject:
        return Reject(stage=self.stage, rule=rule, reason=reason, value=value, source=self.source, row=row,
                      part=part, file=self.file, line=line)

    def record_rows(self, record: Any, row: int, line: int | None, where: str) -> Iterator[SourceRow | Reject]:
        """The rows of one parsed record (the slower, general path: explode, rejects)."""
        if type(record) is not dict:
            yield self.reject("json", f"{where}: expected a JSON object, found {describe(record)}", record, row, line)
            return
        schema = self.schema
        if self.explode is None:
            fields = schema.extract(record)
            if fields is not None:
                yield SourceRow(make_row_id(self.source, row), fields, line)
            else:
                reason, value = schema.explain(record)
                yield self.reject("schema", f"{where}: {reason}", value, row, line)
            return
        name = self.explode
        items = record.get(name)
        if type(items) is not list or not items:
            found = ("is missing" if name not in record else "is null" if items is None else
                     "is an empty list" if type(items) is list else f"is {describe(items)}, not a list")
            yield self.reject("schema", f'{where}: explode field "{name}" {found}', items, row, line)
            return
        for part, item in enumerate(items):
            view = dict(record)
            view[name] = item
            fields = schema.extract(view)
            if fields is not None:
                yield SourceRow(make_row_id(self.source, row, part), fields, line)
            else:
                reason, value = schema.explain(view)
                yield self.reject("schema", f"{where}, {name}[{part}]: {reason}", value, row, line, part)


def check_file(ctx: ReadContext) -> None:
    """RunError now, before any row, when the input is not a readable file."""
    if not ctx.path.exists():
        raise RunError(f"input file not found: {ctx.path}", file=ctx.file,
                       hint="source paths are relative to the recipe's folder (the plan's root)")
    if not ctx.path.is_file():
        raise RunError(f"input is not a file: {ctx.path}", file=ctx.file)


def open_input(ctx: ReadContext):
    try:
        return open(ctx.path, "rb")
    except OSError as error:
        raise RunError(f"cannot read {ctx.path}: {error.strerror or error}", file=ctx.file) from error
