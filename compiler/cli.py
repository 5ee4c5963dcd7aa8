"""The `recipekit` command: a thin layer over the library.

Exit codes: 0 clean, 1 problems found (errors, or warnings with --strict, or
files `fmt --check` would change), 2 usage errors (bad arguments, unreadable
files). Diagnostics go to stderr; machine output (`--format json`) to stdout.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from rich.console import Console

from . import __version__

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2

_EXAMPLES = {
    "main": """examples:
  recipekit init my_dataset              write a starter recipe and data file
  recipekit check examples/*.recipe      check recipes, as pre-commit does
  recipekit fmt examples/*.recipe        format recipes in place
  recipekit compile x.recipe -o plan.json  lower a recipe to a plan
  recipekit run x.recipe --out runs/x      build the dataset, with a manifest and rejects
  recipekit report runs/x                 an HTML report of the run: funnel, mix, lengths, samples
  recipekit why runs/x 1b5c4e2bb37df273   where one example came from and why it was kept or dropped
  recipekit cache ls                     what the stage cache holds (runs reuse unchanged stages)
  recipekit explain S006                 explain a diagnostic code""",
    "check": """examples:
  recipekit check train.recipe
  recipekit check --strict recipes/*.recipe      warnings fail too
  recipekit check --format json a.recipe         one JSON object per diagnostic""",
    "fmt": """examples:
  recipekit fmt train.recipe             rewrite in canonical form
  recipekit fmt --check recipes/*.recipe exit 1 and list files that would change
  recipekit fmt --diff train.recipe      show the change without writing""",
    "explain": """examples:
  recipekit explain S006                 what the code means and how to fix it
  recipekit explain train.recipe         the plan as a tree, with sizes and the mix allocation
  recipekit explain --list               every code with its summary""",
    "compile": """examples:
  recipekit compile train.recipe -o plan.json
  recipekit compile train.recipe            print the plan on stdout""",
    "diff": """examples:
  recipekit diff old.recipe new.recipe   stages added, removed and parameters changed, and which
                                         cached stages a run of new.recipe after old.recipe reuses
  recipekit diff --format json a.recipe b.recipe""",
    "run": """examples:
  recipekit run examples/sentiment_templates.recipe --out runs/sentiment
  recipekit run plan.json --out runs/x       run a compiled plan
  recipekit run train.recipe --limit 100      a quick try on the first 100 rows of each source
  recipekit run train.recipe --engine ray --address auto   on the Ray cluster this machine belongs to
  recipekit run train.recipe --report         also write report.html in the run directory
  recipekit run train.recipe --no-cache       recompute every stage (the stage cache is on by default)
  recipekit run train.recipe --workers 1      everything in this process (default: one worker per CPU)""",
    "cache": """examples:
  recipekit cache ls                        what the stage cache holds: kind, mix or entry, size, last use
  recipekit cache gc --older-than 7d        drop entries no run used for a week
  recipekit cache gc --max-size 2G          drop the least recently used until the cache fits
  recipekit cache gc --all --cache-dir .cache/recipekit""",
    "report": """examples:
  recipekit report runs/sentiment           write runs/sentiment/report.html (self-contained, no network)""",
    "why": """examples:
  recipekit why runs/sentiment 880c1bfcc1f3d813    an output row or a reject, by example id
  recipekit why runs/mix libre/2278                 a source row (SOURCE/ROW[/PART]), e.g. a read reject
  recipekit why --json runs/sentiment 880c1bfcc1f3d813""",
    "verify": """examples:
  recipekit verify runs/sentiment           re-hash inputs and outputs against the manifest
  recipekit verify --rerun runs/sentiment   run again and prove the outputs byte-identical""",
    "init": """examples:
  recipekit init                         writes starter.recipe and data/starter.jsonl
  recipekit init reviews --dir work      writes work/reviews.recipe and work/data/reviews.jsonl""",
}


def build_parser() -> argparse.ArgumentParser:
    parser = _parser("recipekit", "Build instruction-tuning datasets from checked, reproducible recipes.", "main")
    parser.add_argument("--version", action="version", version=f"recipekit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    check = _sub(sub, "check", "check recipes: syntax, structure and every semantic pass")
    check.add_argument("files", nargs="+", metavar="FILE", type=Path)
    check.add_argument("--strict", action="store_true", help="warnings fail the check too")
    _format_option(check)

    fmt = _sub(sub, "fmt", "format recipes in canonical style, keeping comments")
    fmt.add_argument("files", nargs="+", metavar="FILE", type=Path)
    mode = fmt.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file would change")
    mode.add_argument("--diff", action="store_true", help="print a unified diff instead of writing")

    compile_ = _sub(sub, "compile", "check a recipe and lower it to a plan (JSON)")
    compile_.add_argument("recipe", metavar="RECIPE", type=Path)
    compile_.add_argument("-o", "--output", type=Path, metavar="PLAN", help="write the plan here (default: stdout)")
    _format_option(compile_)

    run = _sub(sub, "run", "run a recipe or a compiled plan into a run directory")
    run.add_argument("target", metavar="RECIPE|PLAN", type=Path)
    run.add_argument("--out", type=Path, metavar="DIR", help="the run directory (default: runs/<recipe name>)")
    run.add_argument("--limit", type=_positive_int, metavar="N", help="read at most N rows of each source")
    run.add_argument("--batch-size", type=_positive_int, default=4096, metavar="N",
                     help="rows per batch (changes speed, never results)")
    run.add_argument("--workers", type=_positive_int, metavar="N",
                     help="processes for row-local stages on large JSONL inputs (default: one per CPU, "
                          "at most 4; 1 runs everything in this process); changes speed, never results")
    run.add_argument("--allow-scorer", action="append", default=[], metavar="NAME",
                     help="let the scorer plugin NAME (a `recipekit.scorers` entry point) run; repeatable")
    run.add_argument("--quiet", action="store_true", help="no progress and no summary")
    run.add_argument("--engine", choices=("local", "ray"), default="local",
                     help="where to run: local (default), or ray: Ray Data, the same bytes "
                          "(needs pip install 'recipekit[ray]')")
    run.add_argument("--address", metavar="ADDR",
                     help="with --engine ray: the Ray cluster to join (e.g. auto, or ray://HOST:10001); "
                          "default: start a local one")
    run.add_argument("--report", action="store_true", help="also write report.html into the run directory")
    run.add_argument("--no-cache", action="store_true",
                     help="run every stage from scratch, reading and writing no stage cache")
    _cache_dir_option(run)

    verify = _sub(sub, "verify", "check a run directory against its manifest")
    verify.add_argument("run_dir", metavar="RUN_DIR", type=Path)
    verify.add_argument("--rerun", action="store_true", help="execute the plan again and compare the bytes")

    report = _sub(sub, "report", "write an HTML report of a run directory (report.html in it)")
    report.add_argument("run_dir", metavar="RUN_DIR", type=Path)

    why = _sub(sub, "why", "trace one example or rejected row of a run: source, template, each filter decision")
    why.add_argument("run_dir", metavar="RUN_DIR", type=Path)
    why.add_argument("ids", nargs="+", metavar="EXAMPLE_ID", help="an example id, or SOURCE/ROW[/PART]")
    why.add_argument("--json", action="store_true", help="print the lineage as JSON on stdout")

    diff = _sub(sub, "diff", "show how two recipes' plans differ, and which cached stages NEW would reuse")
    diff.add_argument("old", metavar="OLD", type=Path)
    diff.add_argument("new", metavar="NEW", type=Path)
    _format_option(diff)

    cache = _sub(sub, "cache", "inspect or prune the stage cache that runs reuse")
    cache_sub = cache.add_subparsers(dest="action", metavar="ACTION")
    cache_sub.required = True
    listing = cache_sub.add_parser("ls", help="list the cached entries: kind, what they hold, size, last use")
    _cache_dir_option(listing)
    prune = cache_sub.add_parser("gc", help="remove entries by age or to fit a size")
    prune.add_argument("--older-than", metavar="AGE", type=_age,
                       help="remove entries unused for longer than AGE: 30m, 12h, 7d")
    prune.add_argument("--max-size", metavar="SIZE", type=_size,
                       help="then remove the least recently used until the cache fits: 500M, 2G")
    prune.add_argument("--all", action="store_true", help="remove every entry")
    _cache_dir_option(prune)

    explain = _sub(sub, "explain", "explain a diagnostic code, or show a recipe's plan as a tree")
    explain.add_argument("code", nargs="?", metavar="CODE|RECIPE")
    explain.add_argument("--list", action="store_true", help="list every code")

    init = _sub(sub, "init", "write a commented starter recipe and a tiny data file")
    init.add_argument("name", nargs="?", default="starter", metavar="NAME")
    init.add_argument("--dir", type=Path, default=Path("."), help="where to write (default: here)")
    return parser


def _parser(prog: str, description: str, examples: str) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(
        prog=prog, description=description, epilog=_EXAMPLES[examples],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _sub(sub, name: str, help_text: str) -> argparse.ArgumentParser:
    return sub.add_parser(
        name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".",
        epilog=_EXAMPLES[name], formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("expected a number of at least 1")
    return value


def _cache_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cache-dir", type=Path, metavar="DIR",
                        help="the stage cache (default: $RECIPEKIT_CACHE_DIR, else ~/.cache/recipekit)")


def _age(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        return float(text[:-1]) * units[text[-1]]
    except (KeyError, ValueError):
        raise argparse.ArgumentTypeError(f"{text!r} is not an age like 30m, 12h or 7d") from None


def _size(text: str) -> int:
    from ..runtime.stage_cache import parse_size  # a pure module: no numpy for `check`

    try:
        return parse_size(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size like 500M or 2G") from None


def _format_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("human", "json"), default="human",
                        help="human: rendered for a terminal; json: one object per line on stdout")


def stderr_console() -> Console:
    return Console(stderr=True, highlight=False)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Imported late, and the runtime only for the commands that run plans:
    # `check` in pre-commit must not pay for numpy and friends.
    if args.command in ("run", "verify"):
        from . import run_commands as commands
    elif args.command in ("report", "why"):
        from . import run_inspect as commands
    elif args.command == "cache":
        from . import cache_commands as commands
    else:
        from . import commands

    handler = getattr(commands, f"run_{args.command}")
    try:
        return handler(args)
    except KeyboardInterrupt:
        stderr_console().print("interrupted", style="yellow")
        return 130


if __name__ == "__main__":
    sys.exit(main())
