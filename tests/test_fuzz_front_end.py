"""Fuzzing the front end: mutated recipes and random bytes never raise.

A valid recipe (the formatted text of a random AST, an example file, or the
sample below) is mutated by deleting, duplicating and inserting characters.
Whatever comes out, `load_text` returns a result: when it is not ok there is
an error diagnostic that points inside the text (or at no span), every code is
registered, and the human renderer prints every diagnostic without raising.
When a mutant still loads cleanly, the formatter must print it back with the
same meaning.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from rich.console import Console

from recipekit.dsl.codes import CODES
from recipekit.dsl.formatter import format_recipe, format_text
from recipekit.dsl.load import LoadResult, load_file, load_text
from recipekit.dsl.render import render_human


import strategies  # noqa: E402  (tests/ is on sys.path: see conftest.py)

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"

SAMPLE = '''\
recipe sentiment_mix {
  seed = 42
  description = "SST-2 through templates"
}

source sst2 {
  from = "data/sst2.jsonl"  # jsonl, json, csv
  format = jsonl
  schema {
    sentence: str
    label: int
    answer: str? = answers[0].text
  }
  labels label {
    0 = "negative"
    1 = "positive"
  }
}

template sst2_sentiment on sst2 {
  instruction = [
    "Classify the sentiment.",
    "What's the tone?",
  ]
  input = "{sentence}"
  output = """multi
line"""
  choose = random
  fewshot {
    count = 2
  }
}

paraphrase verbs {
  "Write" <-> "Compose" <-> "Create"
  "Classify" -> "Categorize"
}

expand seeds_plus from seeds {
  paraphrase = verbs
  variants = 4
}

filter clean {
  length instruction words 3..256
  drop output matches r"(?i)as an \\w+"
  require (instruction, output)
  dedup exact on (instruction, input, output) normalize (lower, whitespace)
  dedup near on instruction jaccard >= 0.85 {
    num_perm = 128
  }
  score heuristic >= 0.4
}

mix train {
  sst2_sentiment = 50%
  dolly = 1200 rows
  seeds_plus = 40% of source cap 3000
  other = 3
  size = 10000
  filter = clean
}

output train {
  to = "out/train.jsonl"
  format = messages
  provenance = [source, row, template]
}
'''

_EXAMPLE_TEXTS = [p.read_text(encoding="utf-8") for p in sorted(EXAMPLES_DIR.glob("*.recipe"))]

# Characters that matter to the lexer and parser, and some that do not belong.
_INSERTED = list('{}[]()"#=,;:.%<>-?\\\n\t') + list("aZr_09") + ["é", "中", "\0", "\ufffd", "\r", " ", '"""', 'r"']

seeds = st.one_of(
    st.sampled_from([SAMPLE, *_EXAMPLE_TEXTS]),
    strategies.recipes(max_decls=3).map(format_recipe),
)

# One edit: (kind, where in the text as a fraction, what to insert, how many characters)
edits = st.tuples(
    st.sampled_from(("delete", "duplicate", "insert")),
    st.floats(0, 1),
    st.sampled_from(_INSERTED),
    st.integers(1, 4),
)


def mutate(text: str, mutations: list[tuple]) -> str:
    for kind, where, char, length in mutations:
        at = int(where * len(text))
        if kind == "delete":
            text = text[:at] + text[at + length:]
        elif kind == "duplicate":
            text = text[:at] + text[at:at + length] * 2 + text[at + length:]
        else:
            text = text[:at] + char + text[at:]
    return text


def check_diagnostics(result: LoadResult, length: int) -> None:
    """The invariants of a load result for a text of `length` characters."""
    for diag in result.diagnostics:
        assert diag.code in CODES, diag
        if diag.span is not None:
            assert 0 <= diag.span.start <= diag.span.end <= length, diag
        for label in diag.secondary:
            assert 0 <= label.span.start <= label.span.end <= length, diag
    if not result.ok:
        assert any(d.is_error for d in result.diagnostics), result.diagnostics
    sources = {result.source.name: result.source} if result.source is not None else {}
    console = Console(record=True, file=io.StringIO(), width=100, color_system=None, force_terminal=False)
    render_human(result.diagnostics, sources, console)
    assert console.export_text() or not result.diagnostics


def check_formatter(text: str, result: LoadResult) -> None:
    """A mutant that still loads cleanly formats to the same meaning, with its comments."""
    formatted = format_text(text)
    assert formatted is not None
    again = load_text(formatted)
    assert again.ok, again.diagnostics
    assert again.recipe == result.recipe
    assert sorted(c.text for c in again.comments) == sorted(c.text for c in result.comments)
    assert format_text(formatted) == formatted


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=seeds, mutations=st.lists(edits, min_size=1, max_size=4))
@example(seed=SAMPLE, mutations=[("insert", 0.5, "{", 1)])
def test_mutated_recipes_never_raise(seed, mutations):
    text = mutate(seed, mutations)
    result = load_text(text, "mutant.recipe")
    check_diagnostics(result, len(text))
    if result.ok:
        check_formatter(text, result)


@pytest.mark.parametrize("text", [
    "",
    "\n\n",
    "# only a comment\n",
    "source",
    "source s {",
    "}}}",
    'source s { from = "x',
    'source s { from = """x',
    "\0\0",
    "\ufeffsource s { from = \"x\" }",
    'source s {\n  from = "x"\n  schema {\n    a: str = x[1]\n  }\n}\n',
])
def test_small_texts_never_raise(text):
    result = load_text(text)
    check_diagnostics(result, len(text))


@pytest.mark.parametrize("index", ["1.5", "5%", "1e3", "-1"])
def test_field_path_index_that_is_not_a_whole_number(index):
    text = f'source s {{\n  from = "x"\n  schema {{\n    a: str = x[{index}]\n  }}\n}}\n'
    result = load_text(text)
    check_diagnostics(result, len(text))
    assert not result.ok
    assert "S006" in {d.code for d in result.diagnostics}


@pytest.mark.parametrize("text", [
    "a {" * 1000 + "}" * 1000,
    'source s {\n  from = "x"\n  a = ' + "[" * 1000 + "]" * 1000 + "\n}\n",
    'source s {\n  from = "x"\n  schema {\n    a: ' + "list[" * 1000 + "str" + "]" * 1000 + "\n  }\n}\n",
], ids=["braces", "brackets", "list-types"])
def test_deep_nesting_is_a_diagnostic(text):
    result = load_text(text)
    check_diagnostics(result, len(text))
    assert [d.code for d in result.diagnostics] == ["P011"]


_INVALID_UTF8 = [b"\xff", b"\xfe\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80"]


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    head=st.binary(max_size=64),
    bad=st.sampled_from(_INVALID_UTF8),
    tail=st.binary(max_size=64),
)
def test_random_bytes_give_diagnostics(tmp_path_factory, head, bad, tail):
    path = tmp_path_factory.mktemp("bytes") / "random.recipe"
    data = head + bad + tail
    path.write_bytes(data)
    result = load_file(path)
    assert not result.ok
    assert result.diagnostics
    assert {d.code for d in result.diagnostics} & {"P002", "P003"}
    length = len(result.source.text) if result.source is not None else 0
    check_diagnostics(result, length)


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.binary(max_size=200))
def test_any_bytes_load_without_raising(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("bytes") / "any.recipe"
    path.write_bytes(data)
    result = load_file(path)
    length = len(result.source.text) if result.source is not None else 0
    check_diagnostics(result, length)


def test_missing_file_is_a_diagnostic(tmp_path):
    result = load_file(tmp_path / "nowhere.recipe")
    assert [d.code for d in result.diagnostics] == ["F001"]
    check_diagnostics(result, 0)
