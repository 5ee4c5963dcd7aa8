"""`decontaminate`: examples sharing an n-word window with an evaluation set are
dropped with the window quoted; the evaluation set is read and counted like a source."""

from __future__ import annotations

import json
from pathlib import Path

from recipekit.compiler.compile import compile_file
from recipekit.runtime.engine import RunSettings
from recipekit.runtime.run import run_plan

RECIPE = """\
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
    answers: list[str]?
  }
}

template t on rows {
  instruction = "{instruction}"
  output = "{output}"
}

filter f {
  decontaminate against evalset {
    ngram = 5
  }
}

mix train {
  filter = f
  t = 100%
}

output train {
  to = "train.jsonl"
}
"""


def test_contaminated_examples_are_dropped(tmp_path: Path) -> None:
    rows = [{"instruction": "Who wrote the novel Pride and Prejudice in 1813?", "output": "Jane Austen"},
            {"instruction": "Name a prime number.", "output": "7"},
            {"instruction": "Finish this: it is a truth universally", "output": "acknowledged that a single man"}]
    evaluation = [{"question": "Who wrote the novel Pride and Prejudice?"},
                  {"question": "yes"},  # shorter than a window: contaminates nothing
                  {"question": "Quote Austen.", "answers": ["It is a truth universally acknowledged"]}]
    (tmp_path / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "eval.jsonl").write_text("".join(json.dumps(r) + "\n" for r in evaluation) + "not json\n")
    (tmp_path / "d.recipe").write_text(RECIPE)
    manifest, _ = run_plan(compile_file(tmp_path / "d.recipe").plan,
                           RunSettings(root=tmp_path, run_dir=tmp_path / "run"))
    written = [json.loads(line)["instruction"] for line in (tmp_path / "run" / "train.jsonl").read_text().splitlines()]
    assert written == ["Name a prime number."]
    rejects = [json.loads(line) for line in (tmp_path / "run" / "rejects.jsonl").read_text().splitlines()]
    windows = sorted(r["value"] for r in rejects if r["rule"] == "contamination")
    assert windows == ["it is a truth universally", "who wrote the novel pride"]
    stages = {s["id"]: s for s in manifest["stages"]}
    assert stages["read:evalset"]["rows_in"] == 4 and stages["read:evalset"]["dropped"] == {"json": 1}
    assert {i["stage"] for i in manifest["inputs"]} == {"read:rows", "read:evalset"}
