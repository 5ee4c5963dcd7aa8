"""`recipekit run` and `recipekit verify`: the CLI side of the runtime.

A recipe is compiled first (errors stop here, with diagnostics); at run time
a missing source file, a warning for `check`, is an error. The runtime's own
failures (`RunError`) are printed as `error: ...` with their hint.
"""

from __future__ import annotations

import time
from pathlib import Path

import attrs

from rich.console import Console

from ..dsl.diagnostics import Severity
from ..runtime.engine import RunSettings
from ..runtime.errors import RunError
from ..runtime.load_plan import load_plan
from ..runtime.progress import RunProgress, cache_line, summary
from ..runtime.run import run_plan, verify_run
from ..runtime.stage_cache import StageCache, default_cache_dir, max_size_setting
from .cache_commands import human_size
from .cli import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, stderr_console


def run_run(args) -> int:
    console = stderr_console()
    if args.address is not None and args.engine != "ray":
        console.print("error: --address names a Ray cluster; it needs --engine ray", style="red", markup=False)
        return EXIT_USAGE
    try:
        loaded = _plan_for(args.target, console)
        if loaded is None:
            return EXIT_PROBLEMS
        plan, root = loaded
        run_dir = args.out or Path("runs") / plan["recipe"]["name"]
        settings = RunSettings(root=root, run_dir=run_dir, batch_size=args.batch_size, limit=args.limit,
                               allowed_scorers=tuple(args.allow_scorer), workers=args.workers,
                               cache_dir=None if args.no_cache else args.cache_dir or default_cache_dir())
        limit = _cache_limit() if settings.cache_dir is not None else None
        started = time.time()
        manifest = _execute(plan, settings, console, quiet=args.quiet, engine=args.engine, address=args.address)
        trimmed = _trim_cache(settings.cache_dir, limit, started) if limit is not None else ""
    except RunError as err:
        _print_run_error(console, err)
        return EXIT_PROBLEMS
    except OSError as err:  # the run directory, an output or the cache cannot be written
        _print_run_error(console, io_error(err))
        return EXIT_PROBLEMS
    if not args.quiet:
        console.print(summary(manifest, plan))
        console.print(cache_line(manifest), markup=False, highlight=False)
        if trimmed:
            console.print(trimmed, markup=False, highlight=False)
        console.print(f"run directory: {run_dir}", markup=False, highlight=False)
    if args.report:
        from ..runtime.report_html import write_report

        report = write_report(run_dir)
        if not args.quiet:
            console.print(f"report: {report}", markup=False, highlight=False)
    return EXIT_OK


def _cache_limit() -> tuple[int, str] | None:
    try:
        limit, text = max_size_setting()
    except ValueError as err:
        raise RunError(str(err), hint="e.g. RECIPEKIT_CACHE_MAX_SIZE=20G; `recipekit cache gc` prunes by hand") from None
    return None if limit is None else (limit, text)


def _trim_cache(folder: Path, limit: tuple[int, str], started: float) -> str:
    """Keep the CLI's cache under its size limit: what no run used for longest goes
    first, what this run used stays. Returns what to say, if anything went."""
    removed = StageCache(folder).gc(max_bytes=limit[0], keep_since=started - 2)  # 2 s: coarse file times
    if not removed:
        return ""
    return (f"stage cache: removed {len(removed)} entries ({human_size(sum(e.bytes for e in removed))}) "
            f"unused the longest, to stay under {limit[1]} ($RECIPEKIT_CACHE_MAX_SIZE)")


def _plan_for(target: Path, console: Console):
    """(plan, root) from a recipe or a plan file; None after printing diagnostics."""
    if not target.exists():
        raise RunError(f"{target} does not exist")
    if target.suffix == ".json":
        plan = load_plan(target)
        return plan, (target.parent / plan["root"])
    from .commands import _report
    from .compile import compile_file

    result = compile_file(target)
    source = result.check.load.source
    missing = [d for d in result.diagnostics if d.code == "W101"]
    if result.plan is None or missing:
        shown = [d for d in result.diagnostics if d.is_error or d.code == "W101"]
        shown = [_as_error(d) if d.code == "W101" else d for d in shown]
        _report(shown, {source.name: source} if source else {}, "human", 1)
        return None
    return result.plan, target.parent


def _as_error(diag):
    return attrs.evolve(diag, severity=Severity.ERROR, message=diag.message + ": a run needs it")


def _execute(plan: dict, settings: RunSettings, console: Console, quiet: bool, engine: str = "local",
             address: str | None = None) -> dict:
    if quiet or not console.is_terminal:
        manifest, _ = run_plan(plan, settings, engine, address)
        return manifest
    totals = {s["id"]: None for s in plan["stages"] if s["op"] == "read"}
    with RunProgress(console, totals) as progress:
        settings.progress = progress
        manifest, _ = run_plan(plan, settings, engine, address)
    return manifest


def io_error(err: OSError) -> RunError:
    """An operating-system error of a run, in words, naming the file."""
    names = " -> ".join(str(name) for name in (err.filename, err.filename2) if name)
    return RunError(f"{err.strerror or err}{f': {names}' if names else ''}",
                    hint="check that the run directory (--out) and the stage cache (--cache-dir) can be "
                         "written, and that the disk has room")


def _print_run_error(console: Console, err: RunError) -> None:
    where = f"{err.file}: " if err.file and err.file not in err.message else ""
    console.print(f"error: {where}{err.message}", style="red", markup=False, highlight=False, soft_wrap=True)
    if err.hint:
        console.print(f"  = hint: {err.hint}", markup=False, highlight=False, soft_wrap=True)


def run_verify(args) -> int:
    console = stderr_console()
    try:
        problems = verify_run(args.run_dir, rerun=args.rerun)
    except RunError as err:
        _print_run_error(console, err)
        return EXIT_USAGE
    for problem in problems:
        console.print(f"{problem.what} {problem.path}: expected {problem.expected}, found {problem.found}",
                      markup=False, highlight=False, style="red")
    if problems:
        return EXIT_PROBLEMS
    what = "inputs and outputs match the manifest" + (", and a rerun gave the same bytes" if args.rerun else "")
    console.print(f"ok: {what}", markup=False, highlight=False, style="green")
    return EXIT_OK
