"""Snapshot tests for the diagnostic renderers (codespan style) and the JSON view.

Expected output is written inline, exactly as a terminal without colour shows it.
"""

from __future__ import annotations

import io
import json
from importlib import resources

import pytest
from jsonschema import Draft202012Validator
from rich.console import Console

from recipekit.dsl.diagnostics import Diagnostic, Label, Severity
from recipekit.dsl.render import diagnostic_to_json, render_human, render_json, render_summary
from recipekit.dsl.source import SourceFile, Span

DEMO = SourceFile(
    "demo.recipe",
    'template greet {\n  instruction = 42\n  name = "hi"\n  name = "hello"\n}\n',
)


def plain_console() -> Console:
    return Console(record=True, width=80, color_system=None, force_terminal=False)


def render(diagnostics: list[Diagnostic], *sources: SourceFile) -> str:
    console = plain_console()
    render_human(diagnostics, {source.name: source for source in sources}, console)
    return console.export_text()


def span_of(source: SourceFile, needle: str, occurrence: int = 0) -> Span:
    start = -1
    for _ in range(occurrence + 1):
        start = source.text.index(needle, start + 1)
    return source.span(start, start + len(needle))


def test_primary_label_with_hint():
    diag = Diagnostic(
        "S006",
        Severity.ERROR,
        "expected a string or a list of strings after `instruction =`",
        span_of(DEMO, "42"),
        "found a number",
        hint="put the phrasing in quotes",
    )
    assert render([diag], DEMO) == (
        "error[S006]: expected a string or a list of strings after `instruction =`\n"
        "  ┌─ demo.recipe:2:17\n"
        "  │\n"
        "2 │   instruction = 42\n"
        "  │                 ^^ found a number\n"
        "  │\n"
        "  = hint: put the phrasing in quotes\n"
        "\n"
    )


def test_secondary_labels_sorted_by_line_and_column():
    # The primary span comes after one secondary label, on the same line as another.
    source = SourceFile("mix.recipe", "source web\nsource code\nmix web = 0.7, code = 0.4\n")
    diag = Diagnostic(
        "R203",
        Severity.ERROR,
        "mix ratios must sum to 1.0",
        span_of(source, "0.7, code = 0.4"),
        "these sum to 1.1",
        secondary=[
            Label(span_of(source, "code", 1), "second entry"),
            Label(span_of(source, "web"), "declared here"),
        ],
        notes=["ratios are normalised only with `normalize = true`"],
    )
    assert render([diag], source) == (
        "error[R203]: mix ratios must sum to 1.0\n"
        "  ┌─ mix.recipe:3:11\n"
        "  │\n"
        "1 │ source web\n"
        "  │        --- declared here\n"
        "  ·\n"
        "3 │ mix web = 0.7, code = 0.4\n"
        "  │           ^^^^^^^^^^^^^^^ these sum to 1.1\n"
        "  │                ---- second entry\n"
        "  │\n"
        "  = note: ratios are normalised only with `normalize = true`\n"
        "\n"
    )


def test_multi_line_span_shows_first_and_last_line():
    diag = Diagnostic(
        "S005",
        Severity.WARNING,
        "attribute `name` is set twice",
        DEMO.span(0, len(DEMO.text)),
        "in this block",
        secondary=[Label(span_of(DEMO, "name", 1), "set again here")],
    )
    assert render([diag], DEMO) == (
        "warning[S005]: attribute `name` is set twice\n"
        "  ┌─ demo.recipe:1:1\n"
        "  │\n"
        "1 │ template greet {\n"
        "  │ ^^^^^^^^^^^^^^^^\n"
        "  ·\n"
        '4 │   name = "hello"\n'
        "  │   ---- set again here\n"
        "5 │ }\n"
        "  │ ^ in this block\n"
        "\n"
    )


def test_multi_line_span_on_adjacent_lines_starts_under_indent():
    source = SourceFile("t.recipe", "x = [\n    1]\n")
    diag = Diagnostic("S006", Severity.ERROR, "bad list", source.span(4, 12), "this list")
    assert render([diag], source) == (
        "error[S006]: bad list\n"
        "  ┌─ t.recipe:1:5\n"
        "  │\n"
        "1 │ x = [\n"
        "  │     ^\n"
        "2 │     1]\n"
        "  │     ^^ this list\n"
        "\n"
    )


def test_zero_width_span_at_end_of_file():
    source = SourceFile("eof.recipe", 'source web "x')
    end = len(source.text)
    diag = Diagnostic(
        "P004", Severity.ERROR, "this string is never closed", source.span(end, end), 'expected `"`'
    )
    assert render([diag], source) == (
        "error[P004]: this string is never closed\n"
        "  ┌─ eof.recipe:1:14\n"
        "  │\n"
        '1 │ source web "x\n'
        '  │              ^ expected `"`\n'
        "\n"
    )


def test_tabs_expand_and_carets_follow():
    source = SourceFile("tab.recipe", "\tname =\t42\n")
    diag = Diagnostic("S006", Severity.ERROR, "not a string", span_of(source, "42"), "a number")
    # Column counts characters (tab = 1); the display expands tabs to stops of 4.
    assert render([diag], source) == (
        "error[S006]: not a string\n"
        "  ┌─ tab.recipe:1:9\n"
        "  │\n"
        "1 │     name =  42\n"
        "  │             ^^ a number\n"
        "\n"
    )


def test_wide_characters_count_two_cells():
    source = SourceFile("cjk.recipe", 'name = "名前" 😀 extra\n')
    diag = Diagnostic("S010", Severity.ERROR, "unexpected words", span_of(source, "extra"), "here")
    assert render([diag], source) == (
        "error[S010]: unexpected words\n"
        "  ┌─ cjk.recipe:1:15\n"
        "  │\n"
        '1 │ name = "名前" 😀 extra\n'
        "  │                  ^^^^^ here\n"
        "\n"
    )


def test_wide_characters_underlined_by_width():
    source = SourceFile("cjk.recipe", 'name = "名前"\n')
    span = span_of(source, "名前")
    diag = Diagnostic("T301", Severity.NOTE, "non-ASCII name", span, "two characters")
    assert render([diag], source) == (
        "note[T301]: non-ASCII name\n"
        "  ┌─ cjk.recipe:1:9\n"
        "  │\n"
        '1 │ name = "名前"\n'
        "  │         ^^^^ two characters\n"
        "\n"
    )


def test_no_span_prints_header_and_notes_only():
    notes = ["at $.sources[0]"]
    diag = Diagnostic("B901", Severity.BUG, "the plan failed its own schema", None, notes=notes)
    assert render([diag]) == (
        "bug[B901]: the plan failed its own schema\n"
        "  = note: at $.sources[0]\n"
        "\n"
    )


def test_file_without_source_prints_name_only():
    diag = Diagnostic(
        "F001",
        Severity.ERROR,
        "cannot read the file",
        Span("gone.recipe", 3, 7),
        "here",
        hint="check the path",
    )
    assert render([diag]) == (
        "error[F001]: cannot read the file\n"
        "  ┌─ gone.recipe\n"
        "  │ ^ here\n"
        "  │\n"
        "  = hint: check the path\n"
        "\n"
    )


def test_secondary_label_in_another_file():
    other = SourceFile("base.recipe", "source web\n")
    diag = Diagnostic(
        "N101",
        Severity.ERROR,
        "`web` is declared twice",
        span_of(DEMO, "greet"),
        "second declaration",
        secondary=[Label(span_of(other, "web"), "first declared here")],
    )
    assert render([diag], DEMO, other) == (
        "error[N101]: `web` is declared twice\n"
        "  ┌─ demo.recipe:1:10\n"
        "  │\n"
        "1 │ template greet {\n"
        "  │          ^^^^^ second declaration\n"
        "  │\n"
        "  ┌─ base.recipe:1:8\n"
        "  │\n"
        "1 │ source web\n"
        "  │        --- first declared here\n"
        "\n"
    )


MARKUP = "[red]x[/x] [bold]y :smile:"


@pytest.mark.parametrize("colour", [False, True])
def test_markup_like_text_prints_literally(colour: bool):
    source = SourceFile("m.recipe", f'instruction = "{MARKUP}"\n')
    diag = Diagnostic(
        "S006",
        Severity.ERROR,
        f"message {MARKUP}",
        span_of(source, MARKUP),
        f"label {MARKUP}",
        secondary=[Label(span_of(source, "instruction"), "[/]")],
        notes=[f"note {MARKUP}"],
        hint="[/bold]",
    )
    colour_system = "truecolor" if colour else None
    console = Console(record=True, width=80, force_terminal=colour, color_system=colour_system)
    render_human([diag], {"m.recipe": source}, console)
    assert console.export_text() == (
        "error[S006]: message [red]x[/x] [bold]y :smile:\n"
        "  ┌─ m.recipe:1:16\n"
        "  │\n"
        '1 │ instruction = "[red]x[/x] [bold]y :smile:"\n'
        "  │ ----------- [/]\n"
        "  │                ^^^^^^^^^^^^^^^^^^^^^^^^^^ label [red]x[/x] [bold]y :smile:\n"
        "  │\n"
        "  = note: note [red]x[/x] [bold]y :smile:\n"
        "  = hint: [/bold]\n"
        "\n"
    )


def test_gutter_widens_for_three_digit_lines():
    source = SourceFile("long.recipe", "".join(f"line {n}\n" for n in range(1, 121)))
    diag = Diagnostic(
        "S004",
        Severity.ERROR,
        "unknown attribute",
        span_of(source, "line 100"),
        "here",
        secondary=[Label(span_of(source, "line 9\n"), "and here")],
    )
    assert render([diag], source) == (
        "error[S004]: unknown attribute\n"
        "    ┌─ long.recipe:100:1\n"
        "    │\n"
        "  9 │ line 9\n"
        "    │ ------ and here\n"
        "    ·\n"
        "100 │ line 100\n"
        "    │ ^^^^^^^^ here\n"
        "\n"
    )


def test_long_source_line_is_not_wrapped():
    source = SourceFile("wide.recipe", "x" * 100 + " bad\n")
    diag = Diagnostic("S010", Severity.ERROR, "bad", span_of(source, "bad"))
    lines = render([diag], source).splitlines()
    assert lines[3] == "1 │ " + "x" * 100 + " bad"
    assert lines[4] == "  │ " + " " * 101 + "^^^"


def test_diagnostics_separated_by_blank_line():
    first = Diagnostic("B901", Severity.BUG, "one", None)
    second = Diagnostic("W201", Severity.WARNING, "two", None)
    assert render([first, second]) == "bug[B901]: one\n\nwarning[W201]: two\n\n"


@pytest.mark.parametrize(
    ("severity", "sgr"),
    [(Severity.ERROR, "31"), (Severity.WARNING, "33"), (Severity.NOTE, "36"), (Severity.BUG, "35")],
)
def test_severity_word_is_coloured(severity: Severity, sgr: str):
    console = Console(record=True, width=80, force_terminal=True, color_system="standard")
    render_human([Diagnostic("S001", severity, "m", None)], {}, console)
    assert f"\x1b[1;{sgr}m{severity.value}[S001]" in console.export_text(styles=True)


@pytest.mark.parametrize(
    ("severities", "files", "expected"),
    [
        ([], 3, "no problems in 3 files"),
        ([], 1, "no problems in 1 file"),
        ([Severity.ERROR], 1, "1 error in 1 file"),
        ([Severity.ERROR, Severity.ERROR, Severity.WARNING], 3, "2 errors, 1 warning in 3 files"),
        ([Severity.WARNING, Severity.WARNING, Severity.NOTE], 2, "2 warnings, 1 note in 2 files"),
        ([Severity.BUG, Severity.ERROR], 0, "1 bug, 1 error in 0 files"),
    ],
)
def test_summary_counts_with_plurals(severities: list[Severity], files: int, expected: str):
    console = plain_console()
    render_summary([Diagnostic("S001", s, "m", None) for s in severities], console, files)
    assert console.export_text() == expected + "\n"


# -- JSON ----------------------------------------------------------------------


def load_schema() -> dict:
    text = resources.files("recipekit.specs").joinpath("diagnostic.schema.json").read_text("utf-8")
    return json.loads(text)


def sample_diagnostics() -> list[Diagnostic]:
    return [
        Diagnostic("S006", Severity.ERROR, "not a string", span_of(DEMO, "42"), hint="quote it"),
        Diagnostic(
            "S005",
            Severity.WARNING,
            "set twice « 名前 »",
            span_of(DEMO, "name", 1),
            secondary=[
                Label(span_of(DEMO, "name"), "first"),
                Label(Span("gone.recipe", 0, 1), "elsewhere"),
            ],
            notes=["a", "b"],
        ),
        Diagnostic("B901", Severity.BUG, "no span", None),
        Diagnostic("P004", Severity.ERROR, "eof", DEMO.span(len(DEMO.text), len(DEMO.text))),
        Diagnostic("F001", Severity.ERROR, "missing", Span("gone.recipe", 0, 0)),
    ]


def test_schema_is_valid_2020_12():
    Draft202012Validator.check_schema(load_schema())


def test_every_json_line_validates_against_schema():
    stream = io.StringIO()
    render_json(sample_diagnostics(), {"demo.recipe": DEMO}, stream)
    lines = stream.getvalue().splitlines()
    assert len(lines) == len(sample_diagnostics())
    validator = Draft202012Validator(load_schema())
    for line in lines:
        errors = [f"{e.json_path}: {e.message}" for e in validator.iter_errors(json.loads(line))]
        assert errors == []
    assert "« 名前 »" in lines[1]  # ensure_ascii=False


def test_json_object_shape_and_key_order():
    obj = diagnostic_to_json(sample_diagnostics()[1], {"demo.recipe": DEMO})
    assert list(obj) == [
        "code", "severity", "message", "file", "range", "label",
        "secondary", "notes", "hint", "explain",
    ]  # fmt: skip
    assert obj["range"] == {
        "start": {"line": 4, "column": 3, "offset": 52},
        "end": {"line": 4, "column": 7, "offset": 56},
    }
    assert obj["secondary"][0]["range"]["start"] == {"line": 3, "column": 3, "offset": 38}
    assert obj["secondary"][1] == {"file": "gone.recipe", "range": None, "message": "elsewhere"}
    assert obj["explain"] == "recipekit explain S005"


def test_json_without_span_has_null_file_and_range():
    obj = diagnostic_to_json(Diagnostic("B901", Severity.BUG, "m", None), {})
    assert (obj["file"], obj["range"], obj["hint"], obj["secondary"]) == (None, None, None, [])


def test_schema_rejects_unknown_keys():
    obj = diagnostic_to_json(sample_diagnostics()[0], {"demo.recipe": DEMO})
    obj["extra"] = 1
    assert not Draft202012Validator(load_schema()).is_valid(obj)


def test_control_characters_in_source_are_not_sent_to_the_terminal():
    source = SourceFile("esc.recipe", "name = \x1b[31mred\n")
    diag = Diagnostic("P007", Severity.ERROR, "unexpected character", source.span(7, 8))
    assert render([diag], source).splitlines()[3:5] == ["1 │ name = \ufffd[31mred", "  │        ^"]
