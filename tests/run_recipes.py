"""Small recipes that the report and `why` tests run besides the bundled examples:
`votes` (a human source with a cost, annotation agreement, category balance and
text that would be markup if it were not escaped) and `edge` (an evaluation set
with a malformed line, ROUGE-L near dedup, every phrasing of a template with
blank lines in it, upsampling repeats, a review sample, messages without
provenance)."""

from __future__ import annotations

import json
from pathlib import Path

from recipekit.compiler.compile import compile_file
from recipekit.runtime.engine import RunSettings
from recipekit.runtime.run import run_plan


def run_recipe(recipe: Path, run_dir: Path, batch_size: int = 64) -> Path:
    result = compile_file(recipe)
    assert result.plan is not None, [str(d) for d in result.diagnostics]
    run_plan(result.plan, RunSettings(root=recipe.parent, run_dir=run_dir, batch_size=batch_size))
    return run_dir


# A human source with a cost, annotation agreement, category balance, and text that
# would be markup if it were not escaped.
VOTES_RECIPE = """\
recipe votes {
  seed = 3
  description = "Annotated reviews <b>with</b> markup & a cost"
}

source votes {
  from = "votes.jsonl"
  kind = human
  schema {
    id: str
    worker: str
    text: str
    label: str
    topic: str
  }
  cost {
    usd_per_hour = 20
    minutes_per_example = 3
  }
}

template classify on votes {
  instruction = "Is this review positive or negative?"
  input = "{text}"
  output = "{label}"
}

filter agreed {
  length input words 2..100
  agreement >= 0.5 {
    method = fleiss
    item = id
    annotator = worker
    label = label
  }
}

mix train {
  filter = agreed
  balance = topic
  classify = 100%
}

output train {
  to = "train.jsonl"
  provenance = [row]
}
"""
HOSTILE = {"a": "<script>alert('x')</script> loved it", "b": 'the </td> plot & "acting" were <b>bad</b>',
           "c": "fine, [bold]I guess[/bold]", "d": "short", "e": "<img src=x onerror=alert(1)> great sound",
           "f": "ok then"}
VOTES = [("a", "w1", "positive"), ("a", "w2", "positive"), ("a", "w3", "negative"), ("b", "w1", "negative"),
         ("b", "w2", "negative"), ("b", "w3", "negative"), ("c", "w1", "positive"), ("c", "w2", "negative"),
         ("d", "w1", "positive"), ("e", "w1", "positive"), ("e", "w2", "positive"), ("e", "w3", "positive"),
         ("e", "w4", "negative"), ("f", "w1", "positive"), ("f", "w2", "positive")]
TOPICS = {"a": "film", "b": "film", "c": "food", "d": "food", "e": "audio", "f": "audio"}


def write_votes(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "votes.jsonl").write_text("".join(
        json.dumps({"id": i, "worker": w, "text": HOSTILE[i], "label": label, "topic": TOPICS[i]}) + "\n"
        for i, w, label in VOTES))
    (folder / "votes.recipe").write_text(VOTES_RECIPE)
    return folder / "votes.recipe"



EDGE_RECIPE = """\
recipe edge {
  seed = 5
}

source rows {
  from = "rows.jsonl"
  schema {
    instruction: str
    output: str
  }
}

source evalset {
  from = "eval.jsonl"
  schema {
    question: str
  }
}

template t on rows {
  instruction = ["{instruction}", "Please answer.\\n\\n{instruction}"]
  output = "{output}"
  choose = each
}

filter f {
  decontaminate against evalset {
    ngram = 5
  }
  dedup near on instruction rouge_l >= 0.9
}

mix train {
  filter = f
  size = 20
  on_short = repeat
  max_epochs = 5
  t = 100%
}

output train {
  to = "train.jsonl"
  format = messages
  review = 3
}
"""
EDGE_ROWS = [{"instruction": "Who wrote the novel Pride and Prejudice in 1813?", "output": "Jane Austen"},
             {"instruction": "Name a prime number.", "output": "7"},
             {"instruction": "Name a prime number!", "output": "11"},
             {"instruction": "List two colours.\n\nKeep it short.", "output": "red, blue"}]


def write_edge(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in EDGE_ROWS))
    (folder / "eval.jsonl").write_text(json.dumps({"question": "Who wrote the novel Pride and Prejudice?"})
                                       + "\nnot json\n")
    (folder / "e.recipe").write_text(EDGE_RECIPE)
    return folder / "e.recipe"
