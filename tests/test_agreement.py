"""`agreement`: several annotators per item -> per-item agreement, majority resolution,
and the overall percent agreement, Cohen's or Fleiss' kappa in the manifest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recipekit.compiler.check import check_text
from recipekit.compiler.compile import compile_file
from recipekit.runtime.agreement import cohen_kappa, fleiss_kappa, pair_agreement
from recipekit.runtime.engine import RunSettings
from recipekit.runtime.run import run_plan

RECIPE = """\
source votes {
  from = "votes.jsonl"
  kind = human
  schema {
    id: str
    worker: str
    text: str
    label: str
  }
}

template classify on votes {
  instruction = "Is this review positive or negative?"
  input = "{text}"
  output = "{label}"
}

filter agreed {
  agreement >= 0.5 {
    method = METHOD
    item = id
    annotator = worker
    label = label
  }
}

mix train {
  filter = agreed
  classify = 100%
}

output train {
  to = "train.jsonl"
  provenance = [row]
}
"""

VOTES = [  # item, worker, label
    ("a", "w1", "positive"), ("a", "w2", "positive"), ("a", "w3", "negative"),  # 1/3 of pairs agree
    ("b", "w1", "negative"), ("b", "w2", "negative"), ("b", "w3", "negative"),  # all agree
    ("c", "w1", "positive"), ("c", "w2", "negative"),                           # none agree
    ("d", "w1", "positive"),                                                    # one annotation
    ("e", "w1", "positive"), ("e", "w2", "positive"), ("e", "w3", "positive"), ("e", "w4", "negative"),
]


def test_pair_agreement_and_kappas() -> None:
    assert pair_agreement(["x", "x", "y"]) == pytest.approx(1 / 3)
    assert pair_agreement(["x", "x", "x", "y"]) == pytest.approx(0.5)
    # two annotators who always agree on balanced labels: kappa 1; who never agree: kappa below 0
    assert cohen_kappa([{"a": "x", "b": "x"}, {"a": "y", "b": "y"}]) == pytest.approx(1.0)
    assert cohen_kappa([{"a": "x", "b": "y"}, {"a": "y", "b": "x"}]) == pytest.approx(-1.0)
    assert cohen_kappa([{"a": "x", "b": "x", "c": "x"}]) is None  # not two annotators
    # Fleiss, textbook shape: perfect agreement within items, balanced categories -> 1
    assert fleiss_kappa([["x", "x", "x"], ["y", "y", "y"]]) == pytest.approx(1.0)


def run(tmp_path: Path, method: str) -> tuple[dict, list[dict], list[dict]]:
    (tmp_path / "votes.jsonl").write_text("".join(
        json.dumps({"id": i, "worker": w, "text": f"review {i}", "label": label}) + "\n" for i, w, label in VOTES))
    (tmp_path / "a.recipe").write_text(RECIPE.replace("METHOD", method))
    manifest, _ = run_plan(compile_file(tmp_path / "a.recipe").plan,
                           RunSettings(root=tmp_path, run_dir=tmp_path / "run"))
    written = [json.loads(line) for line in (tmp_path / "run" / "train.jsonl").read_text().splitlines()]
    rejects = [json.loads(line) for line in (tmp_path / "run" / "rejects.jsonl").read_text().splitlines()]
    return manifest, written, rejects


def test_items_are_resolved_to_their_majority_or_dropped(tmp_path: Path) -> None:
    manifest, written, rejects = run(tmp_path, "percent")
    kept = sorted((VOTES[r["provenance"]["row"]][0], VOTES[r["provenance"]["row"]][2]) for r in written)
    assert kept == [("b", "negative"), ("e", "positive")]  # e at 0.5; a (1/3) and c (0) below; d unmeasured
    rules = sorted(r["rule"] for r in rejects)
    assert rules.count("resolved") == 2 + 3 and rules.count("agreement") == 3 + 2 + 1
    (report,) = manifest["agreement"]
    assert report["method"] == "percent" and report["items"] == 5 and report["items_kept"] == 2
    assert report["value"] == pytest.approx((1 / 3 + 1 + 0 + 0.5) / 4)  # mean over the 4 measured items


@pytest.mark.parametrize("method", ["fleiss", "cohen"])
def test_the_overall_statistic_follows_the_method(tmp_path: Path, method: str) -> None:
    manifest, _, _ = run(tmp_path, method)
    (report,) = manifest["agreement"]
    assert report["method"] == method
    if method == "cohen":
        assert report["value"] is None  # four annotators: Cohen's kappa is for two
    else:
        assert -1 <= report["value"] <= 1


def test_agreement_options_are_checked() -> None:
    text = RECIPE.replace("METHOD", "fliess").replace("    item = id\n", "").replace("label: str", "verdict: str")
    codes = sorted(d.code for d in check_text(text, "a.recipe").diagnostics if d.is_error)
    assert "S007" in codes and "S008" in codes and "N106" in codes
