"""Golden tests, one per diagnostic code, in the style of ruff's fixtures.

`tests/golden/diagnostics/<ID>.recipe` is an input that produces code `<ID>`;
`<ID>.txt` is what `recipekit compile` shows a person (no colour, 80
columns): the diagnostics of `recipekit check`, plus, for a recipe without
errors, those of its plan (R215); `<ID>.jsonl` is what it writes for tools
(`--format json`). Codes that need
bytes no text file should hold, or a file that is not there, have their input
made here (GENERATED) and their snapshots in the same folder.

After an intended change of wording or layout, rewrite the snapshots with

    RECIPEKIT_UPDATE_GOLDENS=1 pytest tests/test_golden_diagnostics.py

and review the diff.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from rich.console import Console

from recipekit.compiler.check import check_file
from recipekit.compiler.compile import compile_file
from recipekit.dsl.codes import CODES
from recipekit.dsl.diagnostics import Diagnostic, DiagnosticSink
from recipekit.dsl.render import render_human, render_json

GOLDEN_DIR = Path(__file__).resolve().with_name("golden") / "diagnostics"
UPDATE = os.environ.get("RECIPEKIT_UPDATE_GOLDENS") == "1"
UPDATE_HINT = "run `RECIPEKIT_UPDATE_GOLDENS=1 pytest tests/test_golden_diagnostics.py` and review the diff"

# Inputs that are not recipe text: written to a temporary folder by the test.
GENERATED_BYTES = {
    "P002": b'source s { from = "caf\xe9" }\n',  # Latin-1, not UTF-8
    "P003": b"\x00\x01",
}
MISSING_FILE = "F001"  # a path that does not exist
PLAN_BUG = "B901"  # a plan that breaks its schema: made by hand, no recipe can do it
GENERATED = (*GENERATED_BYTES, MISSING_FILE, PLAN_BUG)

# Codes that nothing reports yet (see tests/test_codes.py): strict expected failures.
NOT_REPORTED_YET: dict[str, str] = {}

RECIPES = sorted(path.stem for path in GOLDEN_DIR.glob("*.recipe"))


def render(diagnostics: list[Diagnostic], sources: dict) -> tuple[str, str]:
    """The two views of `recipekit check`: for people, and JSON Lines for tools."""
    console = Console(record=True, width=80, color_system=None, force_terminal=False, file=io.StringIO())
    render_human(diagnostics, sources, console)
    stream = io.StringIO()
    render_json(diagnostics, sources, stream)
    return console.export_text(), stream.getvalue()


def check_in(directory: Path, name: str, monkeypatch: pytest.MonkeyPatch):
    """`recipekit compile NAME` run inside `directory`: file names stay relative."""
    monkeypatch.chdir(directory)
    result = compile_file(Path(name))
    loaded = result.check.load
    sources = {loaded.source.name: loaded.source} if loaded.source else {}
    return list(result.diagnostics), sources


def assert_matches_snapshot(code_id: str, human: str, json_lines: str) -> None:
    for suffix, actual in ((".txt", human), (".jsonl", json_lines)):
        path = GOLDEN_DIR / f"{code_id}{suffix}"
        if UPDATE:
            path.write_text(actual, encoding="utf-8", newline="\n")
            continue
        assert path.is_file(), f"{path.name} is missing; {UPDATE_HINT}"
        expected = path.read_text(encoding="utf-8")
        assert actual == expected, f"{path.name} differs; if the change is intended, {UPDATE_HINT}"


def xfail_unreported(code_ids):
    return [
        pytest.param(c, marks=pytest.mark.xfail(reason=NOT_REPORTED_YET[c], strict=True))
        if c in NOT_REPORTED_YET else c
        for c in code_ids
    ]


# -- the goldens -------------------------------------------------------------------


@pytest.mark.parametrize("code_id", RECIPES)
def test_recipe_golden(code_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    diagnostics, sources = check_in(GOLDEN_DIR, f"{code_id}.recipe", monkeypatch)
    assert_matches_snapshot(code_id, *render(diagnostics, sources))


@pytest.mark.parametrize("code_id", xfail_unreported(RECIPES))
def test_recipe_golden_produces_its_code(code_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    diagnostics, _ = check_in(GOLDEN_DIR, f"{code_id}.recipe", monkeypatch)
    assert code_id in [d.code for d in diagnostics]


@pytest.mark.parametrize("code_id", sorted(GENERATED_BYTES))
def test_bytes_golden(code_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / f"{code_id}.recipe").write_bytes(GENERATED_BYTES[code_id])
    diagnostics, sources = check_in(tmp_path, f"{code_id}.recipe", monkeypatch)
    assert code_id in [d.code for d in diagnostics]
    assert_matches_snapshot(code_id, *render(diagnostics, sources))


def test_missing_file_golden(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    diagnostics, sources = check_in(tmp_path, f"{MISSING_FILE}.recipe", monkeypatch)
    assert [d.code for d in diagnostics] == [MISSING_FILE]
    assert sources == {}
    assert_matches_snapshot(MISSING_FILE, *render(diagnostics, sources))


def test_plan_bug_golden(monkeypatch: pytest.MonkeyPatch) -> None:
    from recipekit.compiler.plan_json import build_plan, validate_plan

    # A correct plan, then broken by hand the way a compiler bug would break it.
    loaded = check_file(GOLDEN_DIR / "W103.recipe").load
    plan = build_plan(loaded.recipe, loaded.source.text.encode("utf-8"))
    assert validate_plan(plan, DiagnosticSink()), "the plan of W103.recipe should be valid"
    plan["seed"] = "13"
    sink = DiagnosticSink()
    assert not validate_plan(plan, sink)
    diagnostics = list(sink)
    assert [d.code for d in diagnostics] == [PLAN_BUG]
    assert_matches_snapshot(PLAN_BUG, *render(diagnostics, {}))


# -- coverage ------------------------------------------------------------------------


def test_every_code_has_a_golden() -> None:
    missing = [c for c in sorted(CODES) if c not in RECIPES and c not in GENERATED]
    assert missing == [], "add tests/golden/diagnostics/<ID>.recipe for each, then " + UPDATE_HINT


def test_every_golden_is_for_a_code() -> None:
    orphans = [c for c in RECIPES if c not in CODES]
    assert orphans == [], "a golden named after a code that is not in dsl/codes.py"


def test_every_golden_has_both_snapshots() -> None:
    for code_id in [*RECIPES, *GENERATED]:
        for suffix in (".txt", ".jsonl"):
            assert (GOLDEN_DIR / f"{code_id}{suffix}").is_file(), f"{code_id}{suffix}: {UPDATE_HINT}"


def test_snapshots_name_files_relatively() -> None:
    for path in GOLDEN_DIR.glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            name = json.loads(line)["file"]
            assert name is None or not Path(name).is_absolute(), f"{path.name}: {name}"
            assert name is None or "/" not in name and "\\" not in name, f"{path.name}: {name}"
