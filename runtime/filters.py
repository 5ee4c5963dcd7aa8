"""Row filters: length, regular expressions and required fields.

Each op compiles to a `check(example) -> (rule, reason, value) | None`; a
non-None answer rejects the example with that reason. Regular expressions run
on RE2, which matches in linear time: no pattern can hang a run.
"""

from __future__ import annotations

from typing import Callable

import re2

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False

Check = Callable[[dict], "tuple[str, str, object] | None"]


def length_check(params: dict) -> Check:
    field, unit, low, high = params["field"], params["unit"], params["min"], params["max"]
    measure = (lambda s: len(s.split())) if unit == "words" else len

    def check(example: dict):
        size = measure(example[field])
        if low <= size <= high:
            return None
        side = "shorter than" if size < low else "longer than"
        bound = low if size < low else high
        return "length", f"`{field}` has {size} {unit}, {side} {bound}", size

    return check


def regex_check(params: dict) -> Check:
    field, keep = params["field"], params["action"] == "keep"
    pattern = re2.compile(params["pattern"], _RE2_OPTIONS)

    def check(example: dict):
        match = pattern.search(example[field])
        if keep and match is None:
            return "regex", f"`{field}` does not match {params['pattern']!r}", None
        if not keep and match is not None:
            return "regex", f"`{field}` matches {params['pattern']!r}", match.group(0)
        return None

    return check


def required_check(params: dict) -> Check:
    fields = params["fields"]

    def check(example: dict):
        for field in fields:
            if not example[field].strip():
                return "required", f"`{field}` is empty", None
        return None

    return check


ROW_CHECKS = {"filter.length": length_check, "filter.regex": regex_check, "filter.required": required_check}
