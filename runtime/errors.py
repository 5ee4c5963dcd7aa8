"""Errors that stop a run.

Bad *data* never raises: a malformed row is a `Reject` (see records.py) and the
run goes on. A `RunError` is for what makes going on pointless: an input file
that is missing or unreadable, a JSON file that is not an array, a format whose
optional dependency is not installed. It carries words for a person (`message`,
and a `hint` on what to do) and the file concerned, so that the command line
can render it like a diagnostic instead of a traceback.
"""

from __future__ import annotations


class RunError(Exception):
    def __init__(self, message: str, hint: str | None = None, file: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.file = file

    def __reduce__(self):
        # all three survive pickling (a Ray worker's error reaches the driver whole)
        return type(self), (self.message, self.hint, self.file)

    def __str__(self) -> str:
        where = f"{self.file}: " if self.file else ""
        return f"{where}{self.message}" + (f" (hint: {self.hint})" if self.hint else "")
