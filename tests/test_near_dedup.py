"""ROUGE-L near-duplicate detection (the Self-Instruct criterion): exactly the
rouge-score package's F1, and each reject names the example it was near."""

from __future__ import annotations


import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recipekit.runtime.records import Provenance
from recipekit.runtime.rouge import RougeDedup, rouge_l_f1

def example(n: int, text: str) -> dict:
    return {"instruction": text, "input": "", "output": "", "_key": n, "_entry": "e", "_prov": Provenance("s", n, 0)}


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from("the cat Sat on a MAT, mat! 42 fast-slow".split()), max_size=12),
       st.lists(st.sampled_from("the cat Sat on a MAT, mat! 42 fast-slow".split()), max_size=12))
def test_rouge_l_equals_the_rouge_score_package(left, right) -> None:
    rouge_scorer = pytest.importorskip("rouge_score.rouge_scorer")
    a, b = " ".join(left), " ".join(right)
    expected = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False).score(a, b)["rougeL"].fmeasure
    assert rouge_l_f1(a, b) == pytest.approx(expected, abs=1e-12)


def test_rouge_dedup_names_the_kept_example() -> None:
    stage = {"id": "dedup.near:m/f/1", "params": {"fields": ["instruction"], "threshold": 0.7}}
    rows = [example(1, "Write a poem about the sea."), example(2, "Write a short poem about the sea."),
            example(3, "List three prime numbers.")]
    rejects: list = []
    kept = RougeDedup(stage).process(rows, rejects)
    assert [r["_key"] for r in kept] == [1, 3]
    (reject,) = rejects
    assert reject.value["kept"] == format(1, "016x") and reject.value["similarity"] >= 0.7
