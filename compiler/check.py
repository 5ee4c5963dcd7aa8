"""`check`: the front end plus every semantic pass, for one file."""

from __future__ import annotations

from pathlib import Path

import attrs

from ..dsl.diagnostics import Diagnostic, DiagnosticSink
from ..dsl.load import LoadResult, load_file, load_text
from .context import CheckContext
from .passes import PASSES


@attrs.frozen
class CheckResult:
    load: LoadResult
    diagnostics: tuple[Diagnostic, ...]

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.diagnostics)

    @property
    def has_warnings(self) -> bool:
        return any(d.severity.value == "warning" for d in self.diagnostics)


def check_file(path: str | Path) -> CheckResult:
    return _run_passes(load_file(path), Path(path).parent)


def _run_passes(loaded: LoadResult, base_dir: Path) -> CheckResult:
    sink = DiagnosticSink()
    sink.extend(loaded.diagnostics)
    if loaded.ok:
        context = CheckContext.build(loaded.recipe, base_dir, loaded.source.text)
        for run_pass in PASSES:
            run_pass(loaded.recipe, context, sink)
    return CheckResult(loaded, tuple(sink.sorted()))


def check_text(text: str, name: str = "<recipe>", base_dir: str | Path = ".") -> CheckResult:
    """`check_file` for text in memory (tests, editors); paths resolve from `base_dir`."""
    loaded = load_text(text, name)
    return _run_passes(loaded, Path(base_dir))
