"""`recipekit init`: a commented starter recipe and a tiny data file."""

from __future__ import annotations

import json
import re
from pathlib import Path

_RECIPE = '''\
# A starter recipe: one source, one template, a filter, a mix and an output.
# Check it with `recipekit check {name}.recipe`; the language is described in
# docs/language.md of the recipekit repository.
recipe {name} {{
  seed = 42
  description = "Questions and answers turned into instructions"
  version = "0.1"
}}

# Where examples come from. The schema says which fields each row has;
# `str?` marks a field that may be missing.
source questions {{
  from = "data/{name}.jsonl"
  format = jsonl
  kind = human
  schema {{
    question: str
    answer: str
    topic: str?
  }}
}}

# How a row becomes an instruction. Several phrasings: one is picked per row
# by a hash of (seed, template, row), so the choice is reproducible.
template answer_question on questions {{
  instruction = [
    "Answer the following question.",
    "Give a short answer to this question.",
  ]
  input = "{{question}}"
  output = "{{answer}}"
  choose = random
}}

# Cleaning rules, cheap ones first.
filter clean {{
  length output chars 1..2000
  drop output matches r"(?i)as an ai language model"
  dedup exact on (instruction, input, output) normalize (lower, whitespace)
}}

# What goes into the dataset, and in which proportions.
mix train {{
  filter = clean
  answer_question = 100%
}}

output train {{
  to = "out/{name}.jsonl"
  format = alpaca
  provenance = [source, row, template]
}}
'''

_ROWS = [
    {"question": "What is the boiling point of water at sea level in Celsius?", "answer": "100 degrees Celsius.", "topic": "science"},
    {"question": "How many days are in a leap year?", "answer": "366 days.", "topic": "calendar"},
    {"question": "What gas do plants take in for photosynthesis?", "answer": "Carbon dioxide."},
    {"question": "Which planet is closest to the Sun?", "answer": "Mercury.", "topic": "science"},
    {"question": "What is the plural of 'mouse'?", "answer": "Mice.", "topic": "language"},
    {"question": "How many sides does a hexagon have?", "answer": "Six.", "topic": "math"},
]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def write_starter(directory: Path, name: str) -> list[Path] | str:
    """Write NAME.recipe and data/NAME.jsonl; a message instead when that cannot be done."""
    if not _NAME.match(name):
        return f"`{name}` is not a valid recipe name: use letters, digits and _, not starting with a digit"
    recipe = directory / f"{name}.recipe"
    data = directory / "data" / f"{name}.jsonl"
    existing = [p for p in (recipe, data) if p.exists()]
    if existing:
        return f"{existing[0]} already exists; choose another name or --dir"
    data.parent.mkdir(parents=True, exist_ok=True)
    recipe.write_text(_RECIPE.format(name=name), encoding="utf-8")
    lines = (json.dumps(row, ensure_ascii=False) for row in _ROWS)
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [recipe, data]
