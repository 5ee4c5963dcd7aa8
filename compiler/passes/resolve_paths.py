"""Source paths resolve relative to the recipe and stay inside its tree.

A missing file is a warning here (W101: a pre-commit machine may not have the
data) and an error when a run starts. A path that leaves the recipe's folder
is F102 unless the source says `allow_outside = true`; an extension that
names no known format, without a `format` setting, is F103.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from ...dsl import ast
from ...dsl.diagnostics import DiagnosticSink
from ...dsl.vocabulary import OPTIONS
from ..context import CheckContext

EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".tsv": "tsv",
              ".parquet": "parquet"}


def infer_format(path: str) -> str | None:
    return EXTENSIONS.get(PurePosixPath(path).suffix.lower())


def leaves_tree(path: str) -> bool:
    """Absolute, or climbing above its starting folder with `..`."""
    pure = PurePosixPath(path.replace("\\", "/"))
    if pure.is_absolute() or (len(path) > 1 and path[1] == ":"):
        return True
    depth = 0
    for part in pure.parts:
        depth += -1 if part == ".." else (0 if part == "." else 1)
        if depth < 0:
            return True
    return False


def resolve_paths(recipe: ast.Recipe, context: CheckContext, sink: DiagnosticSink) -> None:
    for source in recipe.of_kind(ast.SourceDecl):
        _check_source_path(source, context.base_dir, sink)
    for output in recipe.of_kind(ast.OutputDecl):
        if _control_characters(output.path, sink):
            continue
        if leaves_tree(output.path.value):
            sink.report("F102", output.path.span, "an output path must stay inside the run directory",
                        label="leaves the run directory", hint='write a relative path such as "train.jsonl"')


def _control_characters(text: ast.Str, sink: DiagnosticSink) -> bool:
    """`"data\reviews.jsonl"` holds a carriage return, not a backslash: say so."""
    found = [c for c in text.value if ord(c) < 32 or ord(c) == 127]
    if found:
        sink.report("F104", text.span, f"this path contains the control character {found[0]!r}",
                    label="not a file name character",
                    hint='a backslash in a string starts an escape (`\\r`, `\\t`); separate folders with `/`')
    return bool(found)


def _check_source_path(source: ast.SourceDecl, base_dir: Path, sink: DiagnosticSink) -> None:
    path = source.path.value
    if _control_characters(source.path, sink):
        return
    allowed = source.allow_outside is not None and source.allow_outside.value
    if leaves_tree(path) and not allowed:
        sink.report("F102", source.path.span, "this path leaves the recipe's folder",
                    label="outside the recipe's tree",
                    hint="move the data next to the recipe, or add `allow_outside = true` to the source")
        return
    if source.format is None and infer_format(path) is None:
        sink.report("F103", source.path.span, f"cannot tell the format of `{path}` from its extension",
                    label="unknown extension",
                    hint="add `format = ...`: " + ", ".join(OPTIONS["format"]))
    if not (base_dir / path).exists():
        sink.report("W101", source.path.span, f"`{path}` does not exist (relative to the recipe)",
                    label="file not found", hint="a run needs it; `check` only warns, for machines without the data")
