"""Instruction diversity: leading verbs, normalized entropy, and the manifest's report."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import pytest

from recipekit.compiler.compile import compile_file
from recipekit.runtime.diversity import leading_verb, normalized_entropy
from recipekit.runtime.engine import RunSettings
from recipekit.runtime.run import run_plan

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"


@pytest.mark.parametrize("instruction, verb", [
    ("Write a poem about the sea.", "write"),
    ("Please, summarize this article.", "summarize"),
    ("Can you list three prime numbers?", "list"),
    ("I want you to act as a travel guide.", "act"),
    ("Given a list of numbers, find the largest one.", "find"),
    ("What is the capital of France?", "(question)"),
    ("  ...  ", "(none)"),
])
def test_leading_verb(instruction: str, verb: str) -> None:
    assert leading_verb(instruction) == verb


def test_normalized_entropy() -> None:
    assert normalized_entropy(Counter({"a": 5, "b": 5, "c": 5, "d": 5})) == pytest.approx(1.0)
    assert normalized_entropy(Counter({"a": 9})) == 0.0
    three_to_one = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25)) / math.log(2)
    assert normalized_entropy(Counter({"a": 3, "b": 1})) == pytest.approx(three_to_one)


@pytest.mark.corpora
@pytest.mark.skipif(not CORPORA.is_dir(), reason="needs ../shared/corpora")
def test_the_manifest_reports_the_verb_diversity_of_the_self_instruct_seeds(tmp_path: Path) -> None:
    recipe = tmp_path / "seeds.recipe"
    recipe.write_text(f"""\
source seeds {{
  from = "{CORPORA / 'self-instruct-seed-tasks' / 'seed_tasks.jsonl'}"
  allow_outside = true
  explode = instances
  schema {{
    instruction: str
    input: str = instances.input
    output: str = instances.output
  }}
}}

mix all {{
  seeds = 100%
}}

output all {{
  to = "seeds.jsonl"
}}
""")
    manifest, _ = run_plan(compile_file(recipe).plan, RunSettings(root=tmp_path, run_dir=tmp_path / "run"))
    (mix,) = manifest["mixes"]
    diversity = mix["diversity"]
    instructions = [json.loads(line)["instruction"] for line in
                    (CORPORA / "self-instruct-seed-tasks" / "seed_tasks.jsonl").read_text().splitlines()]
    expected = normalized_entropy(Counter(leading_verb(i) for i in instructions))
    assert diversity["score"] == pytest.approx(expected, abs=1e-6)
    print(f"Self-Instruct seeds: verb diversity {diversity['score']:.3f}, {diversity['distinct_verbs']} verbs, "
          f"top {[v['verb'] for v in diversity['top_verbs'][:5]]}")
    assert 0.85 < diversity["score"] < 0.95  # 175 seeds over ~60 verbs, `write` the most common
    assert diversity["top_verbs"][0]["verb"] == "write"
