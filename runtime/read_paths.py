"""Field paths: where a declared field's value is in a raw record.

A path is a list of steps: a str reads a key of an object, an int the N-th
element of a list (from 0), None every element of a list (the value is then a
list, one result per element; if the rest of the path finds nothing in any
element, the whole path finds nothing). Nothing found and null are both None
here; `locate`, the slow twin of `path_getter` used only to explain a reject,
tells them apart and says where the path stopped.
"""

from __future__ import annotations

from typing import Any, Callable

import orjson


def path_getter(steps: tuple) -> Callable[[Any], Any]:
    if all(type(s) is str for s in steps):
        def get_keys(record: Any) -> Any:
            value = record
            for step in steps:
                if type(value) is not dict:
                    return None
                value = value.get(step)
            return value
        return get_keys
    return lambda record: _walk(record, steps, 0)


def _walk(value: Any, steps: tuple, i: int) -> Any:
    """The value at steps[i:] below `value`, or None when the path finds nothing."""
    n = len(steps)
    while i < n:
        step = steps[i]
        if step is None:
            if type(value) is not list:
                return None
            out = []
            for item in value:
                found = _walk(item, steps, i + 1)
                if found is None:
                    return None
                out.append(found)
            return out
        if type(step) is str:
            if type(value) is not dict:
                return None
            value = value.get(step)
        elif type(value) is list and 0 <= step < len(value):
            value = value[step]
        else:
            return None
        if value is None:
            return None
        i += 1
    return value


def locate(record: Any, path: list) -> tuple[Any, str]:
    """Like `_walk`, with words: (value, "") or (None, why: "is missing", "is null", "is missing: ...")."""
    value, problem = _locate(record, path, 0, "")
    if value is not None:
        return value, ""
    if len(path) == 1 and type(path[0]) is str:
        return None, "is null" if problem.endswith(" is null") else "is missing"
    return None, f"is missing: {problem}"


def _locate(value: Any, path: list, i: int, shown: str) -> tuple[Any, str]:
    for j in range(i, len(path)):
        step, here = path[j], shown or "the record"
        if step is None:
            if type(value) is not list:
                return None, f"{here} is {describe(value)}, not a list"
            out = []
            for k, item in enumerate(value):
                found, problem = _locate(item, path, j + 1, f"{shown}[{k}]")
                if found is None:
                    return None, problem
                out.append(found)
            return out, ""
        if type(step) is str:
            if type(value) is not dict:
                return None, f"{here} is {describe(value)}, not an object"
            if step not in value:
                return None, f'{here} has no key "{step}"'
            value = value[step]
            shown = f"{shown}.{step}" if shown else step
        else:
            if type(value) is not list:
                return None, f"{here} is {describe(value)}, not a list"
            if not 0 <= step < len(value):
                return None, f"{here} has {len(value)} element(s), no element {step}"
            value = value[step]
            shown = f"{shown}[{step}]"
        if value is None:
            return None, f"{shown} is null"
    return value, ""


def show_path(path: list) -> str:
    """["answers", 0, "text"] -> answers[0].text; None steps -> []."""
    text = ""
    for step in path:
        if step is None:
            text += "[]"
        elif type(step) is int:
            text += f"[{step}]"
        else:
            text += f".{step}" if text else step
    return text


def describe(value: Any, limit: int = 60) -> str:
    """`str "positive"`, `int 3`, `null`, `list [1, 2]` — short, for reasons."""
    if value is None:
        return "null"
    kind = {str: "str", bool: "bool", int: "int", float: "float", list: "list", dict: "object"}.get(
        type(value), type(value).__name__)
    try:
        text = orjson.dumps(value).decode()
    except TypeError:
        text = repr(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f"{kind} {text}"
