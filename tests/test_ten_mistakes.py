"""One recipe with ten different semantic mistakes: `check` reports all ten in
one run, each at its line and column (issue: the compiler proves a recipe sound)."""

from __future__ import annotations

from recipekit.compiler.check import check_text

RECIPE = """\
recipe ten {
  seed = -5
}

source reviews {
  from = "../outside.jsonl"
  schema {
    sentence: str
    context: str?
    label: int
  }
  labels label {
    "0" = "negative"
  }
}

template classify on reviws {
  instruction = "Classify."
  output = "{label}"
}

template summarize on reviews {
  instruction = "Summarize {sentense}"
  input = "{context}"
  output = "{label}"
}

filter clean {
  length output chars 9..3
  dedup near on instruction jaccard >= 1.2
  drop output matches "(?<=x)y"
}

mix train {
  summarize = 70%
  classify = 20%
  filter = clean
}

output train {
  to = "train.jsonl"
}
"""

EXPECTED = [
    (2, 10, "R205"),   # negative seed
    (6, 10, "F102"),   # path leaves the recipe's folder
    (13, 5, "T305"),   # string key on an int field
    (17, 22, "N101"),  # misspelled source
    (23, 28, "T301"),  # misspelled placeholder
    (24, 12, "T302"),  # optional field without `?`
    (29, 23, "R202"),  # empty range
    (30, 40, "R201"),  # similarity above 1
    (31, 24, "R206"),  # lookbehind: RE2 rejects it
    (34, 5, "R211"),   # shares sum to 90%
]


def test_all_ten_mistakes_in_one_run() -> None:
    result = check_text(RECIPE, "ten.recipe")
    source = result.load.source
    found = []
    for diag in result.diagnostics:
        if diag.is_error:
            pos = source.position(diag.span.start)
            found.append((pos.line, pos.column, diag.code))
    assert found == EXPECTED
