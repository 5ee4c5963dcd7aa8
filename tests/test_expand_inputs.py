"""Seed expansion by input variation: new instances from a list or from a source."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recipekit.compiler.compile import compile_file
from recipekit.runtime.engine import RunSettings
from recipekit.runtime.run import run_plan

SEEDS = [
    {"instruction": "Write a haiku about the sea.", "input": "", "output": "Waves fold into foam."},
    {"instruction": "Classify the review as positive or negative.", "input": "Loved it.", "output": "positive"},
    {"instruction": "Give a synonym for the word.", "input": "big", "output": "large"},
]
REVIEWS = [{"text": f"Review number {i}: {'great' if i % 2 else 'dull'} film.",
            "label": "positive" if i % 2 else "negative"} for i in range(7)]

RECIPE = """\
recipe varied {
  seed = 5
}

source seeds {
  from = "seeds.jsonl"
  kind = seed
  schema {
    instruction: str
    input: str?
    output: str
  }
}

source reviews {
  from = "reviews.jsonl"
  schema {
    text: str
    output: str = label
  }
}

paraphrase verbs {
  "Write" <-> "Compose"
  "Classify" -> "Categorize"
}

expand framed from seeds {
  paraphrase = verbs
  inputs = ["Answer briefly.", "Answer briefly!", "Reply in one line."]
  variants = 4
}

expand labelled from seeds {
  inputs = reviews
  input_field = text
  variants = 3
}

filter clean {
  dedup near on (instruction, input) jaccard >= 0.8 {
    unit = chars
    ngram = 3
  }
}

mix train {
  filter = clean
  on_short = shrink
  framed = 50%
  labelled = 50%
}

output train {
  to = "train.jsonl"
  provenance = (source, row, paraphrase, parent)
}
"""


def _write(folder: Path) -> Path:
    (folder / "seeds.jsonl").write_text("".join(json.dumps(r) + "\n" for r in SEEDS))
    (folder / "reviews.jsonl").write_text("".join(json.dumps(r) + "\n" for r in REVIEWS))
    recipe = folder / "varied.recipe"
    recipe.write_text(RECIPE)
    return recipe


def _run(recipe: Path, run_dir: Path, batch_size: int = 4096) -> tuple[dict, list[dict], list[dict]]:
    compiled = compile_file(str(recipe))
    assert compiled.plan is not None, [d.message for d in compiled.diagnostics]
    manifest, _ = run_plan(compiled.plan, RunSettings(root=recipe.parent, run_dir=run_dir, batch_size=batch_size))
    rows = [json.loads(line) for line in (run_dir / "train.jsonl").read_text().splitlines()]
    rejects = [json.loads(line) for line in (run_dir / "rejects.jsonl").read_text().splitlines()]
    return manifest, rows, rejects


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[Path, dict, list[dict], list[dict]]:
    folder = tmp_path_factory.mktemp("varied")
    recipe = _write(folder)
    return (recipe, *_run(recipe, folder / "run"))


def _before_mix(manifest: dict, stage: str) -> int:
    return next(s["rows_out"] for s in manifest["stages"] if s["id"] == stage)


def test_list_inputs_pair_instructions_with_each_input_and_keep_the_seed_output(run) -> None:
    _recipe, manifest, rows, rejects = run
    # min(4 variants, instructions x 3 inputs) a seed: two seeds have a rewrite (2 x 3 pairs),
    # "Give a synonym ..." has none (1 x 3 pairs)
    assert _before_mix(manifest, "expand:framed") == 4 + 4 + 3
    framed = [r for r in rows if r["provenance"]["paraphrase"][-1].startswith("input <- inputs[")]
    assert framed
    for row in framed:
        number = int(row["provenance"]["paraphrase"][-1].removeprefix("input <- inputs[").rstrip("]"))
        assert row["input"] == ["Answer briefly.", "Answer briefly!", "Reply in one line."][number]
        parent = int(row["provenance"]["parent"].split("/")[1])
        assert row["output"] == SEEDS[parent]["output"]  # the seed's own output


def test_source_inputs_bring_their_outputs(run) -> None:
    _recipe, manifest, rows, _rejects = run
    assert _before_mix(manifest, "expand:labelled") == 9  # 3 seeds x 3 instances
    instances = {r["text"]: r["label"] for r in REVIEWS}
    labelled = [r for r in rows if r["provenance"]["paraphrase"][-1].startswith("input <- reviews/")]
    assert labelled
    for row in labelled:
        assert instances[row["input"]] == row["output"]
        assert row["provenance"]["parent"].startswith("seeds/")
    read = {i["path"]: i["rows"] for i in manifest["inputs"]}
    assert read["reviews.jsonl"] == len(REVIEWS)  # the instance source counts as read


def test_near_identical_variants_are_dropped_by_near_dedup(run) -> None:
    _recipe, _manifest, rows, rejects = run
    near = [r for r in rejects if r["stage"].startswith("dedup.near")]
    assert near, "'Answer briefly.' and 'Answer briefly!' make near-identical variants"
    kept = {(r["instruction"], r["input"]) for r in rows}
    for reject in near:
        assert (reject["example"]["instruction"], reject["example"]["input"]) not in kept


def test_pairs_are_distinct_and_batch_size_changes_nothing(run, tmp_path: Path) -> None:
    recipe, _manifest, rows, _rejects = run
    assert len({(r["instruction"], r["input"], r["output"]) for r in rows}) == len(rows)
    first = (recipe.parent / "run" / "train.jsonl").read_bytes()
    for size in (1, 2):
        _run(recipe, tmp_path / str(size), batch_size=size)
        assert (tmp_path / str(size) / "train.jsonl").read_bytes() == first
        assert (tmp_path / str(size) / "rejects.jsonl").read_bytes() == (recipe.parent / "run" / "rejects.jsonl").read_bytes()
