"""Expected diagnostics written inline, mypy-style: `# E[N101]` at the end of
the offending line (W for warnings, N for notes). Every diagnostic the
checker reports must be expected, and every expectation met. One fixture file
per semantic pass, in tests/golden/semantic/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from recipekit.compiler.check import check_file

FIXTURES = Path(__file__).parent / "golden" / "semantic"
_EXPECT = re.compile(r"([EWN])\[([A-Z]\d{3})\]")
_LETTER = {"error": "E", "warning": "W", "note": "N", "bug": "E"}


def expected(path: Path) -> set[tuple[int, str, str]]:
    found = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        comment = line.partition("#")[2]
        found |= {(number, letter, code) for letter, code in _EXPECT.findall(comment)}
    return found


def reported(path: Path) -> set[tuple[int, str, str]]:
    result = check_file(path)
    source = result.load.source
    return {
        (source.position(d.span.start).line, _LETTER[d.severity.value], d.code)
        for d in result.diagnostics
    }


@pytest.mark.parametrize("fixture", sorted(FIXTURES.glob("*.recipe")), ids=lambda p: p.stem)
def test_inline_expectations(fixture: Path) -> None:
    want, got = expected(fixture), reported(fixture)
    assert not want - got, f"expected but not reported: {sorted(want - got)}"
    assert not got - want, f"reported but not expected: {sorted(got - want)}"


def test_every_pass_has_a_fixture() -> None:
    from recipekit.compiler.passes import PASSES

    names = {p.stem for p in FIXTURES.glob("*.recipe")}
    assert {p.__name__ for p in PASSES} <= names
