"""The code registry and its pages, in the style of rustc's error index.

Every code has a page (`dsl/explanations/<ID>.md`) whose Example really
produces that code and whose Fix really is clean; docs/diagnostics.md is
generated from the pages; a published code is never removed; and
`recipekit explain` prints the pages.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from recipekit.dsl import load
from recipekit.dsl.code_docs import PHASES, render_diagnostics_doc, section_snippet
from recipekit.dsl.codes import CODES, explanation

try:  # the semantic passes, and the checks that need a plan and the data
    from recipekit.compiler.check import check_text
    from recipekit.compiler.compile import compile_file
except ImportError:  # pragma: no cover - the front end alone
    check_text = compile_file = None

REPO_ROOT = Path(__file__).resolve().parents[1]
PAGES = REPO_ROOT / "dsl" / "explanations"
PUBLISHED = Path(__file__).with_name("published_codes.txt")
# Examples are checked as if saved next to a few rows of data/reviews.jsonl and
# data/demos.jsonl (the data of the goldens), so that a Fix does not warn about
# a missing file, and a mix can be solved on real row counts.
DATA = Path(__file__).with_name("golden") / "diagnostics" / "data"
ALL_CODES = sorted(CODES)

# Codes in the registry that nothing reports yet: their Example is an expected
# failure until something does (strict: remove the entry once it passes).
NOT_REPORTED_YET: dict[str, str] = {}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("examples")
    shutil.copytree(DATA, folder / "data")
    return folder


def diagnostics_of(text: str, workdir: Path) -> list:
    """What `recipekit compile` reports for `text`: `check` (the front end and
    the semantic passes), then, for a clean recipe, the checks on its plan."""
    if check_text is None:
        return list(load.load_text(text, "example.recipe").diagnostics)
    checked = check_text(text, "example.recipe", workdir)
    if checked.has_errors:
        return list(checked.diagnostics)
    path = workdir / "example.recipe"
    path.write_text(text, encoding="utf-8")
    return list(compile_file(path).diagnostics)


def unless_reported_yet(code_ids):
    return [
        pytest.param(c, marks=pytest.mark.xfail(reason=NOT_REPORTED_YET[c], strict=True))
        if c in NOT_REPORTED_YET else c
        for c in code_ids
    ]


def page(code_id: str) -> str:
    text = explanation(code_id)
    assert text is not None, f"{code_id} has no page"
    return text


def recipe_snippet(code_id: str, section: str):
    snippet = section_snippet(page(code_id), section)
    assert snippet is not None, f"dsl/explanations/{code_id}.md has no fenced block under `## {section}`"
    if snippet.language != "recipe":
        assert snippet.language == "text", f"{code_id}: a {section} block is `recipe` or `text`"
        pytest.skip(f"the {section} of {code_id} cannot be written as recipe text")
    return snippet


def shown(diagnostics: list) -> str:
    return "\n".join(f"  {d.code} {d.severity.value}: {d.message}" for d in diagnostics) or "  (nothing)"


# -- pages ---------------------------------------------------------------------


@pytest.mark.parametrize("code_id", ALL_CODES)
def test_every_code_has_a_page_titled_with_its_id_and_slug(code_id: str) -> None:
    assert (PAGES / f"{code_id}.md").is_file(), f"write dsl/explanations/{code_id}.md"
    lines = page(code_id).split("\n")
    assert lines[0] == f"# {code_id}: {CODES[code_id].slug}"
    assert lines[1] == "" and lines[2].strip(), "the title is followed by a blank line and a paragraph"


def test_no_page_without_a_code() -> None:
    orphans = sorted(p.stem for p in PAGES.glob("*.md") if p.stem not in CODES)
    assert orphans == [], "pages for codes that are not in dsl/codes.py"


@pytest.mark.parametrize("code_id", unless_reported_yet(ALL_CODES))
def test_the_example_produces_its_code(code_id: str, workdir: Path) -> None:
    snippet = recipe_snippet(code_id, "Example")
    diagnostics = diagnostics_of(snippet.text, workdir)
    codes = [d.code for d in diagnostics]
    assert code_id in codes, f"the Example of {code_id} reports instead:\n{shown(diagnostics)}"


@pytest.mark.parametrize("code_id", ALL_CODES)
def test_the_example_produces_nothing_else(code_id: str, workdir: Path) -> None:
    snippet = recipe_snippet(code_id, "Example")
    diagnostics = diagnostics_of(snippet.text, workdir)
    others = [d for d in diagnostics if d.code != code_id and d.is_error]
    assert others == [], f"the Example of {code_id} also reports:\n{shown(others)}"


@pytest.mark.parametrize("code_id", ALL_CODES)
def test_the_fix_is_clean(code_id: str, workdir: Path) -> None:
    snippet = recipe_snippet(code_id, "Fix")
    errors = [d for d in diagnostics_of(snippet.text, workdir) if d.is_error]
    assert errors == [], f"the Fix of {code_id} still reports:\n{shown(errors)}"


@pytest.mark.parametrize("code_id", ALL_CODES)
def test_the_fix_does_not_report_the_code_even_as_a_warning(code_id: str, workdir: Path) -> None:
    snippet = recipe_snippet(code_id, "Fix")
    codes = [d.code for d in diagnostics_of(snippet.text, workdir)]
    assert code_id not in codes


def test_every_code_letter_is_a_documented_phase() -> None:
    unknown = sorted(c for c in CODES if c[0] not in PHASES)
    assert unknown == [], "add the letter to PHASES in dsl/code_docs.py"


# -- docs/diagnostics.md ---------------------------------------------------------


def test_docs_diagnostics_md_is_generated_from_the_pages() -> None:
    path = REPO_ROOT / "docs" / "diagnostics.md"
    expected = render_diagnostics_doc()
    actual = path.read_text(encoding="utf-8") if path.is_file() else ""
    assert actual == expected, (
        "docs/diagnostics.md is out of date; regenerate it with\n"
        "    python -m recipekit.dsl.code_docs > docs/diagnostics.md"
    )


def test_the_doc_holds_every_page_and_a_table_row_per_code() -> None:
    doc = render_diagnostics_doc()
    for code_id, code in CODES.items():
        assert f"\n## {code_id}: {code.slug}\n" in doc
        assert f"| [{code_id}](#{code_id.lower()}-{code.slug}) |" in doc


# -- codes are never removed -------------------------------------------------------


def published() -> list[str]:
    return [line.strip() for line in PUBLISHED.read_text().splitlines() if line.strip()]


def test_a_published_code_is_never_removed() -> None:
    removed = [code_id for code_id in published() if code_id not in CODES]
    assert removed == [], "a published code stays in CODES (mark it `retired=True` instead)"


def test_every_code_is_in_the_published_list() -> None:
    new = [code_id for code_id in ALL_CODES if code_id not in published()]
    assert new == [], f"add the new codes to {PUBLISHED.name}: once published, a code stays"


def test_the_published_list_is_sorted_and_unique() -> None:
    assert published() == sorted(set(published()))


# -- recipekit explain ---------------------------------------------------------------


def explain(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "recipekit.compiler", "explain", *args],
        capture_output=True, text=True, encoding="utf-8", timeout=60,
    )


def test_explain_prints_the_page() -> None:
    result = explain("S006")
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip("\n") == page("S006").rstrip("\n")


def test_explain_prints_long_lines_as_written() -> None:
    widest = max(ALL_CODES, key=lambda c: max(len(line) for line in page(c).splitlines()))
    assert max(len(line) for line in page(widest).splitlines()) > 80, "no page has a long line to test"
    result = explain(widest)
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip("\n") == page(widest).rstrip("\n")


def test_explain_accepts_lower_case() -> None:
    result = explain("s006")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# S006: wrong-value")


def test_explain_an_unknown_code_is_a_usage_error() -> None:
    result = explain("ZZZ9")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "`ZZZ9` is not a recipekit diagnostic code" in result.stderr
    assert "recipekit explain --list" in result.stderr


def test_explain_list_names_every_code() -> None:
    result = explain("--list")
    assert result.returncode == 0, result.stderr
    listed = [line.split()[0] for line in result.stdout.splitlines() if line.strip()]
    assert listed == list(CODES)
