"""The formatter: canonical text from the AST, comments kept, meaning unchanged.

(a) properties over random ASTs (tests/strategies.py): the printed text loads
back to the same AST and printing is idempotent; comments put anywhere between
items survive, in order. (b) the example recipes are already canonical.
(c) hand-written cases. (d) golden pairs tests/golden/format/NAME.in.recipe →
NAME.out.recipe; `RECIPEKIT_UPDATE_GOLDENS=1 pytest tests/test_formatter.py`
rewrites the .out files.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recipekit.dsl import ast
from recipekit.dsl.formatter import format_recipe, format_text
from recipekit.dsl.load import load_text
from recipekit.dsl.parser import lex


import strategies  # noqa: E402  (tests/ is on sys.path: see conftest.py)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.recipe"))
GOLDEN_DIR = Path(__file__).resolve().parent / "golden" / "format"
GOLDENS = sorted(GOLDEN_DIR.glob("*.in.recipe"))
UPDATE_GOLDENS = os.environ.get("RECIPEKIT_UPDATE_GOLDENS") == "1"


def fmt(text: str) -> str:
    out = format_text(text)
    assert out is not None, [(d.code, d.message) for d in load_text(text).diagnostics]
    return out


def comment_texts(text: str) -> list[str]:
    return [c.text for c in load_text(text).comments]


def assert_canonical(source: str, expected: str) -> None:
    """`source` formats to `expected`, which is a fixed point with the same meaning."""
    out = fmt(source)
    assert out == expected
    assert fmt(out) == out
    assert load_text(out).recipe == load_text(source).recipe


# ---------------------------------------------------------- (a) properties ----


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(strategies.recipes())
def test_random_recipe_round_trips(recipe):
    text = format_recipe(recipe)
    loaded = load_text(text)
    assert loaded.ok, [(d.code, d.message) for d in loaded.diagnostics]
    assert loaded.recipe == recipe
    assert format_recipe(loaded.recipe, loaded.comments, text) == text
    assert format_text(text) == text
    assert text.endswith("\n") and not text.endswith("\n\n")


def _newlines_outside_strings(text: str) -> list[int]:
    strings = [(t.start_pos, t.end_pos) for t in lex(text)
               if t.type in ("STRING", "LONG_STRING", "RAW_STRING")]
    return [i for i, ch in enumerate(text)
            if ch == "\n" and not any(a <= i < b for a, b in strings)]


comment_words = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=12
).map(str.strip)


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(strategies.recipes(max_decls=3), st.data())
def test_comments_anywhere_survive_in_order(recipe, data):
    text = format_recipe(recipe)
    spots = [-1, *_newlines_outside_strings(text)]
    chosen = data.draw(st.lists(st.sampled_from(spots), unique=True, max_size=8))
    for n, at in enumerate(sorted(chosen, reverse=True)):
        word = data.draw(comment_words)
        if at >= 0 and data.draw(st.booleans()):  # at the end of the line
            text = text[:at] + f"  # t{n} {word}".rstrip() + text[at:]
        else:  # on a line of its own after it
            text = text[:at + 1] + f"# o{n} {word}".rstrip() + "\n" + text[at + 1:]
    loaded = load_text(text)
    assert loaded.ok and loaded.recipe == recipe
    out = fmt(text)
    assert comment_texts(out) == [c.text for c in loaded.comments]
    assert load_text(out).recipe == recipe
    assert fmt(out) == out


# ------------------------------------------------------------ (b) examples ----


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_are_canonical(path):
    text = path.read_text(encoding="utf-8")
    assert format_text(text, str(path)) == text


def test_there_are_examples():
    if not EXAMPLES:
        pytest.skip("no examples/*.recipe yet")


# ---------------------------------------------------------- (c) hand-written ----

SOURCE_HEAD = 'source s {\n  from = "x"\n'


def test_leading_and_trailing_comments():
    assert_canonical(
        '# about s\nsource s {\n  # where\n  from = "x"   # the path\n}\n',
        '# about s\nsource s {\n  # where\n  from = "x"  # the path\n}\n',
    )


def test_comment_before_closing_brace_stays_at_end_of_block():
    assert_canonical(
        'source s {\n  from = "x"\n  # the end of s\n}\n',
        'source s {\n  from = "x"\n  # the end of s\n}\n',
    )


def test_comments_after_brace_and_at_end_of_file():
    text = 'source s {  # s\n  from = "x"\n}  # done\n\n# bye\n# really\n'
    assert_canonical(text, text)
    assert_canonical(text.replace("\n\n# bye", "\n# bye"), text)


def test_comment_between_blocks_leads_the_next_block():
    assert_canonical(
        'source a {\n  from = "a"\n}\n# about b\n\n\nsource b { from = "b" }\n',
        'source a {\n  from = "a"\n}\n\n# about b\n\nsource b {\n  from = "b"\n}\n',
    )


def test_attributes_are_reordered_with_their_comments():
    assert_canonical(
        "source s {\n"
        "  # the format\n"
        "  format = csv  # comma separated\n"
        '  from = "x.csv"  # the path\n'
        "}\n",
        "source s {\n"
        '  from = "x.csv"  # the path\n'
        "  # the format\n"
        "  format = csv  # comma separated\n"
        "}\n",
    )


def test_recipe_block_moves_first_with_its_comments_and_file_header_stays():
    assert_canonical(
        "# file header\n\nsource s {\n  from = \"x\"\n}\n\n# the recipe\nrecipe r {\n  seed = 1\n}\n",
        "# file header\n\n# the recipe\nrecipe r {\n  seed = 1\n}\n\nsource s {\n  from = \"x\"\n}\n",
    )


def test_mix_settings_before_entries_and_nested_blocks_last():
    assert_canonical(
        "mix m {\n  a = 50%\n  b = 3 cap 10\n  size = 100\n}\n",
        "mix m {\n  size = 100\n  a = 50%\n  b = 3 cap 10\n}\n",
    )
    assert_canonical(
        'source s {\n  cost { usd_per_hour = 3 }\n  schema { a: str }\n  format = csv\n  from = "x"\n}\n',
        'source s {\n  from = "x"\n  format = csv\n  schema {\n    a: str\n  }\n'
        "  cost {\n    usd_per_hour = 3\n  }\n}\n",
    )


def test_long_list_is_broken_and_short_list_joined():
    long_items = ", ".join(f'"phrasing number {i} of the instruction"' for i in range(3))
    out = fmt(f"template t on s {{\n  instruction = [{long_items}]\n  output = [\"a\", \"b\"]\n}}\n")
    assert out == (
        "template t on s {\n"
        "  instruction = [\n"
        '    "phrasing number 0 of the instruction",\n'
        '    "phrasing number 1 of the instruction",\n'
        '    "phrasing number 2 of the instruction",\n'
        "  ]\n"
        '  output = ["a", "b"]\n'
        "}\n"
    )
    assert fmt(out) == out


def test_list_written_over_lines_stays_broken_with_element_comments():
    text = (
        "template t on s {\n"
        "  instruction = [  # two ways\n"
        '    "a",  # short\n'
        "    # longer\n"
        '    "b",\n'
        "    # more to come\n"
        "  ]  # end\n"
        '  output = "o"\n'
        "}\n"
    )
    assert_canonical(text, text)
    assert_canonical(text.replace('"b",\n', '"b"\n'), text)


def test_single_string_list_is_a_string():
    assert_canonical(
        'template t on s {\n  instruction = ["a"]\n  output = "b"\n}\n',
        'template t on s {\n  instruction = "a"\n  output = "b"\n}\n',
    )


def test_raw_and_long_strings_are_kept():
    text = (
        "filter f {\n"
        '  drop output matches r"(?i)as an \\w+"\n'
        "}\n\n"
        "template t on s {\n"
        '  instruction = """two\nlines with "quotes" and \\\\ """\n'
        '  output = "tab\\tand\\nnewline \\"q\\" \\u{7}"\n'
        "}\n"
    )
    assert_canonical(text, text)
    loaded = load_text(text).recipe
    assert loaded.decls[1].instruction[0].value == 'two\nlines with "quotes" and \\ '


def test_strings_that_cannot_keep_their_style():
    recipe = ast.Recipe(None, (ast.FilterDecl(ast.Name("f"), (
        ast.RegexRule(ast.Name("drop"), ast.Name("x"), ast.Str('say "hi"', "raw")),
        ast.RegexRule(ast.Name("keep"), ast.Name("x"), ast.Str('ends with """ and "', "long")),
        ast.RegexRule(ast.Name("keep"), ast.Name("x"), ast.Str("nul \0 and \u2028", "plain")),
    )),))
    text = format_recipe(recipe)
    assert text == (
        "filter f {\n"
        '  drop x matches "say \\"hi\\""\n'
        '  keep x matches """ends with \\"\\"" and \\""""\n'
        '  keep x matches "nul \\u{0} and \\u{2028}"\n'
        "}\n"
    )
    assert load_text(text).recipe == recipe


def test_paraphrase_phrases_are_always_plain():
    recipe = ast.Recipe(None, (
        ast.ParaphraseDecl(ast.Name("p"), (
            ast.ParaphraseRule((ast.Str("a", "raw"), ast.Str("b\n", "long")), True),
        )),
        ast.SourceDecl(ast.Name("s"), ast.Str("x"), labels=(
            ast.LabelMap(ast.Name("l"), (ast.LabelEntry(ast.Str("k", "long"), ast.Str("v", "raw")),)),
        )),
    ))
    text = format_recipe(recipe)
    assert '"a" <-> "b\\n"' in text and '"""k""" = r"v"' in text
    assert load_text(text).recipe == recipe


def test_numbers_as_written_or_repr():
    text = "recipe r {\n  seed = 007\n}\n\nmix m {\n  temperature = 1e3\n  a = 0.50%\n  b = 1.50 rows cap 2E2\n}\n"
    assert_canonical(text, text)
    recipe = ast.Recipe(ast.RecipeMeta(ast.Name("r"), ast.Number(5, text="1e3")), ())
    assert format_recipe(recipe) == "recipe r {\n  seed = 5\n}\n"
    mix = ast.MixDecl(ast.Name("m"), (ast.MixEntry(ast.Name("a"), ast.Amount("fraction", ast.Number(1e-07, True))),))
    assert format_recipe(ast.Recipe(None, (mix,))) == "mix m {\n  a = 1e-07% of source\n}\n"


def test_provenance_lists():
    assert_canonical(
        'output o {\n  to = "x"\n  provenance = row\n}\n',
        'output o {\n  to = "x"\n  provenance = [row]\n}\n',
    )
    every = "source, row, template, phrasing, paraphrase, parent, hash"
    assert_canonical(
        f'output o {{\n  to = "x"\n  provenance = [{every}]\n}}\n',
        'output o {\n  to = "x"\n  provenance = true\n}\n',
    )


def test_rules_and_options():
    assert_canonical(
        "filter f {\n"
        "  ordered = true\n"
        "  require x\n"
        "  require (x,y)\n"
        "  dedup exact on (a) normalize lower\n"
        "  dedup near on (a, b) jaccard >= 0.9 { num_perm = 64; unit = words }\n"
        "  score heuristic >= 0.4 {}\n"
        "  agreement >= 0.6 { method = fleiss }\n"
        "  length output chars 1 .. 4000\n"
        "}\n",
        "filter f {\n"
        "  ordered = true\n"
        "  require x\n"
        "  require (x, y)\n"
        "  dedup exact on a normalize lower\n"
        "  dedup near on (a, b) jaccard >= 0.9 {\n"
        "    num_perm = 64\n"
        "    unit = words\n"
        "  }\n"
        "  score heuristic >= 0.4\n"
        "  agreement >= 0.6 {\n"
        "    method = fleiss\n"
        "  }\n"
        "  length output chars 1..4000\n"
        "}\n",
    )


def test_blank_lines_inside_blocks_are_kept_and_collapsed():
    assert_canonical(
        'filter f {\n\n  require a\n\n\n\n  # b next\n  require b\n  require c\n\n}\n',
        "filter f {\n  require a\n\n  # b next\n  require b\n  require c\n}\n",
    )


def test_comment_inside_a_multiline_rule_moves_before_it():
    assert_canonical(
        "filter f {\n  require (a,  # first\n    b)\n}\n",
        "filter f {\n  # first\n  require (a, b)\n}\n",
    )


def test_comments_in_items_the_ast_drops_are_kept():
    assert_canonical(
        'source s {\n  from = "x"\n  schema {\n    # nothing yet\n  }\n}\n',
        'source s {\n  from = "x"\n  # nothing yet\n}\n',
    )


def test_crlf_and_missing_final_newline():
    assert_canonical('source s {\r\n  from = "x"  # c\r\n}', 'source s {\n  from = "x"  # c\n}\n')


def test_empty_blocks():
    assert_canonical("paraphrase p {\n}\nfilter f {}\n", "paraphrase p {}\n\nfilter f {}\n")


@pytest.mark.parametrize("text", [
    "source s {\n  from = \"x\"\n",  # unclosed
    "source s { from = }\n",  # a value is missing
    "source s {\n  form = \"x\"\n}\n",  # unknown attribute
    "# only a comment\n",  # declares nothing
    "",
])
def test_text_with_errors_is_refused(text):
    assert format_text(text) is None


# --------------------------------------------------------------- (d) goldens ----


@pytest.mark.parametrize("source", GOLDENS, ids=lambda p: p.name.removesuffix(".in.recipe"))
def test_golden(source):
    expected_path = source.with_name(source.name.replace(".in.recipe", ".out.recipe"))
    text = source.read_bytes().decode("utf-8")
    out = format_text(text, str(source))
    assert out is not None
    if UPDATE_GOLDENS:
        expected_path.write_text(out, encoding="utf-8", newline="")
    expected = expected_path.read_bytes().decode("utf-8")
    assert out == expected
    assert format_text(expected) == expected
    assert load_text(expected).recipe == load_text(text).recipe
    assert sorted(comment_texts(expected)) == sorted(comment_texts(text))


def test_goldens_exist():
    assert len(GOLDENS) >= 5
