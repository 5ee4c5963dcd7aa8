"""One run reports every mistake, each at its place.

A recipe with a dozen different structural mistakes gets a dozen diagnostics,
with the right code at the right line and column; several syntax errors on
different lines are all reported too (the loader blanks a broken line and
parses again).
"""

from __future__ import annotations

from recipekit.dsl.load import load_text

TEN_MISTAKES = """\
recipe reviews {
  seed = "13"
  colour = "blue"
}

source reviews {
  from = "data/reviews.jsonl"
  format = jsonlines
  from = "data/other.jsonl"
  schema {
    text: string
    summary: str
  }
  stars: int
}

template summarize on reviews {
  instruction = "Summarize\\q"
  input = "{text}"
}

filter clean {
  lenght output words 3..60
  length output tokens 3..60
}

outptu train {
  to = "train.jsonl"
}

outputtrain {
  to = "train.jsonl"
}

expand more {
  variants = 3
}
"""

EXPECTED = [
    (2, 10, "S006"),  # wrong kind of value: `seed = "13"`
    (3, 3, "S004"),  # unknown attribute `colour`
    (8, 12, "S008"),  # unknown option word `jsonlines`
    (9, 3, "S005"),  # duplicate attribute `from`
    (11, 11, "S012"),  # unknown type `string`
    (14, 3, "S011"),  # misplaced item: a field outside `schema`
    (17, 1, "S007"),  # missing attribute: the template has no `output`
    (18, 27, "P010"),  # unknown escape `\q`
    (23, 3, "S009"),  # unknown filter rule `lenght`
    (24, 17, "S010"),  # malformed rule: `tokens` is not a unit
    (27, 1, "S001"),  # unknown block `outptu`
    (31, 1, "S002"),  # glued keyword `outputtrain`
    (35, 1, "S003"),  # bad header: `expand` without `from SOURCE`
]


def located(text: str) -> list[tuple[int, int, str]]:
    loaded = load_text(text, "mistakes.recipe")
    found = []
    for diag in loaded.diagnostics:
        position = loaded.source.position(diag.span.start)
        found.append((position.line, position.column, diag.code))
    return found


def test_ten_structural_mistakes_are_reported_in_one_run() -> None:
    assert located(TEN_MISTAKES) == EXPECTED


def test_the_mistakes_are_of_at_least_ten_kinds() -> None:
    assert len({code for _, _, code in EXPECTED}) >= 10


def test_every_mistake_is_an_error_with_a_message_and_a_label() -> None:
    loaded = load_text(TEN_MISTAKES, "mistakes.recipe")
    assert loaded.recipe is not None  # the rest of the file is still built
    assert not loaded.ok
    for diag in loaded.diagnostics:
        assert diag.is_error
        assert diag.message and diag.label, diag


SYNTAX_ERRORS = """\
source reviews {
  from = "data/reviews.jsonl" @
  format = "jsonl
  kind = dataset explode = instances
}
"""


def test_syntax_errors_on_several_lines_are_all_reported() -> None:
    assert located(SYNTAX_ERRORS) == [
        (2, 31, "P007"),  # a stray `@`
        (3, 12, "P004"),  # an unterminated string
        (4, 18, "P008"),  # `a = 1 b = 2`: no separator before `explode`
    ]


def test_a_file_with_syntax_errors_builds_no_recipe() -> None:
    loaded = load_text(SYNTAX_ERRORS, "mistakes.recipe")
    assert loaded.recipe is None
    assert all(d.code.startswith("P") for d in loaded.diagnostics)


def test_a_syntax_error_and_the_lines_after_it() -> None:
    # The error on line 2 is reported once; lines 3 and 4 are fine and report nothing.
    text = 'source reviews {\n  from = "data/reviews.jsonl" $\n  format = jsonl\n}\n'
    assert located(text) == [(2, 31, "P007")]
