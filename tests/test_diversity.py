"""Instruction diversity: leading verbs, normalized entropy, and the manifest's report."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import pytest

from recipekit.compiler.compile import compile_file
from hypothesis import given, settings, strategies as st

from recipekit.runtime.diversity import VerbIds, leading_verb, normalized_entropy
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


_WORDS = st.sampled_from(["Write", "write", "Please", "given", "Given,", "what", "List:", "x" * 45, "éclair",
                          "Sort", "can", "you", "a", ",", "...", "\t", "2", "don't"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_WORDS, max_size=8).map(" ".join), max_size=30))
def test_verb_ids_agree_with_leading_verb(instructions: list[str]) -> None:
    """The first-word cache never changes a verb: ids map back to `leading_verb`."""
    ids = VerbIds()
    numbers = [ids(text) for text in instructions]
    names = {number: verb for verb, number in ids.ids.items()}
    assert [names[n] for n in numbers] == [leading_verb(text) for text in instructions]


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


CAPPED = """\
source rows {
  from = "rows.jsonl"
  schema {
    instruction: str
    output: str
  }
}

mix train {
  size = 6
  max_verb_share = 0.34
  MINDIV
  rows = 100%
}

output train {
  to = "train.jsonl"
}
"""


def capped_run(tmp_path: Path, min_diversity: str = "") -> tuple[dict | None, str]:
    verbs = ["Write"] * 6 + ["List"] * 3 + ["Explain"] * 3
    rows = [{"instruction": f"{verb} thing {i}.", "output": "x"} for i, verb in enumerate(verbs)]
    (tmp_path / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "c.recipe").write_text(CAPPED.replace("MINDIV", min_diversity))
    from recipekit.runtime.errors import RunError

    try:
        manifest, _ = run_plan(compile_file(tmp_path / "c.recipe").plan,
                               RunSettings(root=tmp_path, run_dir=tmp_path / "run"))
    except RunError as err:
        return None, err.message
    return manifest, ""


def test_max_verb_share_is_enforced_at_selection(tmp_path: Path) -> None:
    manifest, _ = capped_run(tmp_path)
    written = [json.loads(line)["instruction"].split()[0]
               for line in (tmp_path / "run" / "train.jsonl").read_text().splitlines()]
    assert len(written) == 6 and Counter(written) == Counter({"Write": 2, "List": 2, "Explain": 2})
    targets = manifest["mixes"][0]["diversity"]["targets"]
    assert targets["max_verb_share"] == 0.34 and targets["achieved_max_share"] <= 0.34
    assert targets["short"] == {}
    rejects = (tmp_path / "run" / "rejects.jsonl").read_text().splitlines()
    assert len(rejects) == 6 and all(json.loads(r)["rule"] == "unsampled" for r in rejects)


def test_a_missed_diversity_target_stops_the_run(tmp_path: Path) -> None:
    manifest, _ = capped_run(tmp_path, "min_verb_diversity = 0.9")
    assert manifest is not None and manifest["mixes"][0]["diversity"]["score"] == pytest.approx(1.0)
    (tmp_path / "run").rename(tmp_path / "first")
    text = CAPPED.replace("  max_verb_share = 0.34\n", "").replace("MINDIV", "min_verb_diversity = 0.99")
    (tmp_path / "c.recipe").write_text(text)
    from recipekit.runtime.errors import RunError

    with pytest.raises(RunError, match="reaches verb diversity 0.9.*below its target 0.99"):
        run_plan(compile_file(tmp_path / "c.recipe").plan, RunSettings(root=tmp_path, run_dir=tmp_path / "run"))


BALANCED = """\
source rows {
  from = "rows.jsonl"
  schema {
    instruction: str
    output: str
    category: str
  }
}

template t on rows {
  instruction = "{instruction}"
  output = "{output}"
}

mix train {
  size = 6
  balance = category
  SHARE
  t = 100%
}

output train {
  to = "train.jsonl"
  provenance = [row]
}
"""


@pytest.mark.parametrize("share, expected", [("", None), ("max_share = 0.5", {"qa": 3, "poem": 2, "code": 1})])
def test_balance_on_a_field(tmp_path: Path, share: str, expected: dict | None) -> None:
    """Equal shares by default; `max_share` caps each value instead. 9 qa rows, 3 poems, 1 code."""
    categories = ["qa"] * 9 + ["poem"] * 3 + ["code"]
    rows = [{"instruction": f"Task {i}.", "output": "x", "category": c} for i, c in enumerate(categories)]
    (tmp_path / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "b.recipe").write_text(BALANCED.replace("SHARE", share))
    manifest, _ = run_plan(compile_file(tmp_path / "b.recipe").plan,
                           RunSettings(root=tmp_path, run_dir=tmp_path / "run"))
    written = [json.loads(line)["provenance"]["row"]
               for line in (tmp_path / "run" / "train.jsonl").read_text().splitlines()]
    got = Counter(categories[row] for row in written)
    balance = manifest["mixes"][0]["diversity"]["targets"]["balance"]
    assert balance["counts"] == dict(sorted(got.items()))
    if expected is not None:
        assert got == Counter(expected)  # 3 of 6 qa at most; then poems and the one code fill in
    else:
        assert max(got.values()) <= 2 and got["code"] == 1  # ceil(6 / 3) each; `code` has one row
        assert manifest["mixes"][0]["diversity"]["targets"]["short"] == {"t": 1}
