"""Declared fields, compiled once per source: read a raw record into typed fields.

`compile_schema(fields)` turns the plan's field list (`{name, type, optional,
path}`) into a `Schema` with two functions:

- `extract(record) -> dict | None`: the fast path, run on every record. It
  returns exactly the declared fields, typed, or None when any field fails.
  It raises nothing and builds no message.
- `explain(record) -> (reason, value)`: the slow path, run only on a record that
  `extract` refused: which field, why in words, and the offending value.

Paths (read_paths.py) are lists of steps: a str reads a key of an object, an
int the N-th element of a list (from 0), None every element of a list. A path
that finds nothing and a null value are the same to the reader: None for an
optional field, a reject for a required one.

Types: `str`, `int` (a bool is not an int), `float` (ints are accepted and
converted), `bool`, `list[T]` (each element checked, and converted for
`list[float]`). With `coerce=True` (CSV and TSV, whose cells are text) a cell
is converted to the declared type instead (surrounding spaces ignored): `int`
from digits with an optional sign, `float` from anything `float()` reads except `_` separators, `bool` from
true/false/1/0 (any case), `list[T]` from a JSON array; an empty cell is null
for every type but `str`.
"""

from __future__ import annotations

import re
from typing import Any, Callable

import orjson

from .errors import RunError
from .read_paths import describe, locate, path_getter, show_path

_BAD = object()  # a value that does not have the declared type
_SCALARS = {"str": str, "int": int, "float": float, "bool": bool}
_INT_TEXT = re.compile(r"[+-]?[0-9]+\Z")
_TRUE = frozenset(("true", "1"))
_FALSE = frozenset(("false", "0"))

Check = Callable[[Any], Any]  # a value -> the typed value, None (empty cell) or _BAD


class Schema:
    __slots__ = ("extract", "explain", "names", "columns")

    def __init__(self, extract: Callable[[dict], dict | None], explain: Callable[[dict], tuple[str, Any]],
                 names: tuple[str, ...], columns: tuple[str, ...]) -> None:
        self.extract = extract
        self.explain = explain
        self.names = names  # the declared fields, in order
        self.columns = columns  # the top-level keys (columns) the paths start from


def compile_schema(fields: list[dict], *, coerce: bool = False) -> Schema:
    specs = []
    for field in fields:
        name, path = field["name"], list(field["path"])
        if not path:
            raise RunError(f'field "{name}" has an empty path', hint="recompile the plan with this recipekit")
        exact, check = compile_type(field["type"], coerce)
        key = path[0] if len(path) == 1 and type(path[0]) is str else None
        get = None if key is not None else path_getter(tuple(path))
        specs.append((name, key, get, exact, check, bool(field["optional"]), field["type"], path))
    fast = tuple(s[:6] for s in specs)

    def extract(record: dict) -> dict | None:
        out = {}
        for name, key, get, exact, check, optional in fast:
            value = record.get(key) if get is None else get(record)
            if type(value) is not exact:
                if value is not None:
                    value = check(value)
                    if value is _BAD:
                        return None
                if value is None:
                    if optional:
                        out[name] = None
                        continue
                    return None
            out[name] = value
        return out

    def explain(record: dict) -> tuple[str, Any]:
        for name, _key, _get, exact, check, optional, type_name, path in specs:
            value, missing = locate(record, path)
            if value is not None and type(value) is not exact:
                converted = check(value)
                if converted is _BAD:
                    found = describe(value) + _which_element(value, type_name)
                    return f'"{name}" should be {type_name}, found {found}', value
                if converted is None and not optional:
                    return f'required field "{name}" is empty (should be {type_name})', value
            elif value is None and not optional:
                where = f" ({show_path(path)})" if len(path) > 1 or type(path[0]) is not str else ""
                return f'required field "{name}"{where} {missing}', None
        return "the record does not match the schema", record  # unreachable while explain mirrors extract

    columns = tuple(dict.fromkeys(s[7][0] for s in specs if type(s[7][0]) is str))
    return Schema(extract, explain, tuple(s[0] for s in specs), columns)


# ------------------------------------------------------------------ types ----


def compile_type(type_name: str, coerce: bool) -> tuple[type | None, Check]:
    """(the type a good value has exactly, or None; the check for any other value)."""
    if type_name.startswith("list[") and type_name.endswith("]"):
        item_exact, item_check = compile_type(type_name[5:-1], False)
        check = _list_check(item_exact, item_check)
        return None, (_from_json_text(check) if coerce else check)
    if type_name not in _SCALARS:
        raise RunError(f"unknown field type {type_name!r} in the plan",
                       hint="types are str, int, float, bool and list[T]; recompile the plan")
    exact = _SCALARS[type_name]
    if coerce and type_name != "str":
        return None, _TEXT_CHECKS[type_name]
    if type_name == "float":
        return float, _int_as_float
    return exact, _reject


def _reject(value: Any) -> Any:
    return _BAD


def _int_as_float(value: Any) -> Any:
    return float(value) if type(value) is int else _BAD


def _list_check(item_exact: type | None, item_check: Check) -> Check:
    def check(value: Any) -> Any:
        if type(value) is not list:
            return _BAD
        out = value
        for i, item in enumerate(value):
            if type(item) is not item_exact:
                item = item_check(item) if item is not None else _BAD
                if item is _BAD or item is None:
                    return _BAD
                if out is value:
                    out = list(value)
                out[i] = item
        return out
    return check


def _from_json_text(check: Check) -> Check:
    def from_text(text: Any) -> Any:
        if type(text) is not str:
            return check(text)
        if text == "":
            return None
        try:
            return check(orjson.loads(text))
        except orjson.JSONDecodeError:
            return _BAD
    return from_text


def _int_text(text: Any) -> Any:
    if type(text) is not str:
        return text if type(text) is int else _BAD
    if text == "":
        return None
    text = text.strip()
    return int(text) if _INT_TEXT.match(text) else _BAD


def _float_text(text: Any) -> Any:
    if type(text) is not str:
        return float(text) if type(text) in (int, float) else _BAD
    if text == "":
        return None
    if "_" in text:
        return _BAD
    try:
        return float(text)
    except ValueError:
        return _BAD


def _bool_text(text: Any) -> Any:
    if type(text) is not str:
        return text if type(text) is bool else _BAD
    if text == "":
        return None
    lowered = text.strip().lower()
    return True if lowered in _TRUE else False if lowered in _FALSE else _BAD


_TEXT_CHECKS = {"int": _int_text, "float": _float_text, "bool": _bool_text}


def _which_element(value: Any, type_name: str) -> str:
    """For a list: which element is wrong."""
    if type(value) is list and type_name.startswith("list["):
        item_exact, item_check = compile_type(type_name[5:-1], False)
        for i, item in enumerate(value):
            if type(item) is not item_exact and (item is None or item_check(item) in (_BAD, None)):
                return f" (element {i} is {describe(item)})"
    return ""
