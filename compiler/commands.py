"""What each `recipekit` subcommand does; cli.py only parses arguments."""

from __future__ import annotations

import difflib
import json
import sys
from pathlib import Path

import attrs
from rich.console import Console
from rich.markdown import Markdown

from ..dsl.codes import CODES, explanation
from ..dsl.diagnostics import Diagnostic
from ..dsl.load import load_file
from ..dsl.render import render_human, render_json, render_summary
from ..dsl.source import SourceFile
from ..dsl.vocabulary import did_you_mean
from .check import check_file
from .cli import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, stderr_console
from .starter import write_starter


def _report(diagnostics: list[Diagnostic], sources: dict[str, SourceFile], fmt: str, files: int) -> None:
    if fmt == "json":
        render_json(diagnostics, sources, sys.stdout)
        return
    console = stderr_console()
    render_human(diagnostics, sources, console)
    render_summary(diagnostics, console, files)


def run_check(args) -> int:
    diagnostics: list[Diagnostic] = []
    sources: dict[str, SourceFile] = {}
    unreadable = False
    for path in args.files:
        result = check_file(path)
        if result.load.source is not None:
            sources[result.load.source.name] = result.load.source
        diagnostics.extend(result.diagnostics)
        unreadable |= any(d.code == "F001" for d in result.diagnostics)
    _report(diagnostics, sources, args.format, len(args.files))
    if unreadable:
        return EXIT_USAGE
    failing = any(d.is_error or (args.strict and d.severity.value == "warning") for d in diagnostics)
    return EXIT_PROBLEMS if failing else EXIT_OK


def run_compile(args) -> int:
    from .compile import compile_file

    result = compile_file(args.recipe, args.output)
    source = result.check.load.source
    shown = [d for d in result.diagnostics if d.severity.value != "note" or result.plan is None]
    if shown or result.plan is None:
        _report(shown, {source.name: source} if source else {}, args.format, 1)
    if result.plan is None:
        return EXIT_USAGE if any(d.code == "F001" for d in result.diagnostics) else EXIT_PROBLEMS
    if args.output is None:
        sys.stdout.write(result.text)
    else:
        _write_atomically(args.output, result.text)
        stderr_console().print(f"wrote {args.output}", markup=False)
    return EXIT_OK


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.tmp")
    scratch.write_text(text, encoding="utf-8")
    scratch.replace(path)


def run_fmt(args) -> int:
    from ..dsl.formatter import format_recipe

    status = EXIT_OK
    for path in args.files:
        loaded = load_file(path)
        if not loaded.ok:
            sources = {loaded.source.name: loaded.source} if loaded.source else {}
            render_human([d for d in loaded.diagnostics if d.is_error], sources, stderr_console())
            stderr_console().print(f"{path}: not formatted, it has errors", markup=False)
            status = EXIT_USAGE if any(d.code == "F001" for d in loaded.diagnostics) else EXIT_PROBLEMS
            continue
        before = loaded.source.text
        after = format_recipe(loaded.recipe, loaded.comments, before)
        if after != before:
            status = max(status, _apply_format(args, path, before, after))
    return status


def _apply_format(args, path: Path, before: str, after: str) -> int:
    out = Console(highlight=False)
    if args.check:
        out.print(f"would reformat {path}", markup=False)
        return EXIT_PROBLEMS
    if args.diff:
        diff = difflib.unified_diff(
            before.splitlines(keepends=True), after.splitlines(keepends=True), str(path), str(path))
        sys.stdout.writelines(diff)
        return EXIT_PROBLEMS
    path.write_text(after, encoding="utf-8")
    out.print(f"reformatted {path}", markup=False)
    return EXIT_OK


def run_explain(args) -> int:
    console = Console(highlight=False)
    if args.code and (args.code.endswith(".recipe") or Path(args.code).is_file()):
        return _explain_recipe(Path(args.code), console)
    if args.list or not args.code:
        for code in CODES.values():
            console.print(f"{code.id}  {code.severity:<7}  {code.summary}", markup=False, soft_wrap=True)
        return EXIT_OK
    page = explanation(args.code)
    if page is None:
        hint = did_you_mean(args.code.upper(), CODES) or "run `recipekit explain --list` for every code"
        stderr_console().print(f"error: `{args.code}` is not a recipekit diagnostic code; {hint}", markup=False)
        return EXIT_USAGE
    if console.is_terminal:
        console.print(Markdown(page))
    else:  # piped: the page exactly as written, no wrapping
        sys.stdout.write(page)
    return EXIT_OK


def _explain_recipe(path: Path, console: Console) -> int:
    from .compile import compile_file
    from .explain_plan import plan_tree

    result = compile_file(path)
    source = result.check.load.source
    if result.plan is None:
        _report(list(result.diagnostics), {source.name: source} if source else {}, "human", 1)
        return EXIT_USAGE if any(d.code == "F001" for d in result.diagnostics) else EXIT_PROBLEMS
    console.print(plan_tree(result.plan, path.parent))
    return EXIT_OK


def run_diff(args) -> int:
    from .compile import compile_file
    from .plan_diff import diff_plans

    results = [compile_file(path) for path in (args.old, args.new)]
    failed = [r for r in results if r.plan is None]
    for result in failed:
        source = result.check.load.source
        _report(list(result.diagnostics), {source.name: source} if source else {}, args.format, 1)
    if failed:
        return EXIT_PROBLEMS
    changes = diff_plans(results[0].plan, results[1].plan)
    reuse = _cache_forecast(results, args.old.parent, args.new.parent)
    if args.format == "json":
        for change in changes:
            sys.stdout.write(json.dumps(attrs.asdict(change), ensure_ascii=False) + "\n")
        sys.stdout.write(json.dumps({"kind": "cache", **reuse}) + "\n")
    else:
        console = Console(highlight=False)
        _print_changes(changes, console)
        console.print(f"stage cache, a run of {args.new} after one of {args.old}:", markup=False)
        console.print(f"  reuses     {', '.join(reuse['reused']) or '(nothing)'}", markup=False)
        console.print(f"  recomputes {', '.join(reuse['computed'])}", markup=False)
    return EXIT_OK


def _cache_forecast(results, old_root: Path, new_root: Path) -> dict:
    """Which stages of the new plan the stage cache would reuse (their data files hashed)."""
    from ..runtime.cache_units import REUSED, forecast
    from ..runtime.manifest import tool_version

    status = forecast(results[0].plan, results[1].plan, old_root, new_root, tool_version())
    return {"reused": [s for s, v in status.items() if v == REUSED],
            "computed": [s for s, v in status.items() if v != REUSED]}


def _print_changes(changes, console: Console) -> None:
    from rich.text import Text

    if not changes:
        console.print("the plans are identical", markup=False)
    marks = {"added": ("+", "green"), "removed": ("-", "red")}
    for change in changes:
        mark, style = marks.get(change.kind, ("~", "yellow"))
        line = Text(f"{mark} {change.stage or 'plan'}", style=style)
        if change.kind not in marks:
            line.append(f"  {change.path}: {change.before!r} -> {change.after!r}", style="default")
        console.print(line)


def run_init(args) -> int:
    written = write_starter(args.dir, args.name)
    console = stderr_console()
    if isinstance(written, str):
        console.print(f"error: {written}", markup=False)
        return EXIT_PROBLEMS
    for path in written:
        console.print(f"wrote {path}", markup=False)
    console.print(f"next: recipekit check {written[0]}", markup=False)
    return EXIT_OK
