"""Regular expressions in recipes use RE2: matching takes linear time, so a
recipe's pattern cannot hang a run (no backtracking blow-up). The runtime uses
the same engine; this module is how the compiler asks it whether a pattern
compiles."""

from __future__ import annotations

import re2

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 would print every failure to stderr


def regex_error(pattern: str) -> tuple[str, int | None] | None:
    """None if `pattern` compiles; else (message, index of the culprit or None)."""
    try:
        re2.compile(pattern, _OPTIONS)
    except re2.error as err:
        text = err.args[0].decode() if err.args and isinstance(err.args[0], bytes) else str(err)
        message, _, fragment = text.partition(": ")
        index = pattern.find(fragment) if fragment else -1
        return message, (index if index >= 0 else None)
    return None
