"""`recipekit report` and `recipekit why`: looking into a finished run directory.

Both read only the run directory (runtime/run_files.py). Their failures are
`RunError`s printed as `error: ...` with a hint: a missing or incomplete run
directory or a malformed query is a usage error (2), an id that names
nothing in the run is "not found" (1), as with grep.
"""

from __future__ import annotations

import json
import sys

from rich.console import Console

from ..runtime.errors import RunError
from .cli import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, stderr_console
from .run_commands import _print_run_error


def run_report(args) -> int:
    from ..runtime.report_html import write_report

    console = stderr_console()
    try:
        path = write_report(args.run_dir)
    except RunError as err:
        _print_run_error(console, err)
        return EXIT_USAGE
    console.print(f"report: {path}", markup=False, highlight=False)
    return EXIT_OK


def run_why(args) -> int:
    from ..runtime.lineage import NotFound, Why
    from ..runtime.lineage_view import render_answers

    try:
        answers = Why(args.run_dir).answer(args.ids)
    except RunError as err:
        _print_run_error(stderr_console(), err)
        return EXIT_PROBLEMS if isinstance(err, NotFound) else EXIT_USAGE
    if args.json:
        sys.stdout.write(json.dumps(answers, indent=2, ensure_ascii=False) + "\n")
    else:
        Console(highlight=False).print(render_answers(answers))
    return EXIT_OK
