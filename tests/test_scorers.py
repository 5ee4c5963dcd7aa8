"""The built-in heuristic scorer: each penalty fires on what it names, and only there."""

from __future__ import annotations

import pytest

from recipekit.runtime.scorers import heuristic


def _score(instruction: str, output: str) -> tuple[float, list[str]]:
    return heuristic({"instruction": instruction, "input": "", "output": output})


def test_a_good_example_scores_one() -> None:
    assert _score("List three primary colours.", "1. Red\n2. Blue\n3. Yellow") == (1.0, [])
    assert _score("What is the capital of France?", "Paris.") == (1.0, [])  # short answers to questions are fine
    assert _score("Classify the sentiment of this review.", "positive") == (1.0, [])


@pytest.mark.parametrize("instruction, output, reason", [
    ("Tell me a joke.", "", "the output is empty"),
    ("Tell me a joke.", "As an AI language model, I cannot tell jokes.", "refusal boilerplate"),
    ("Say hello to the world", "say hello to the world", "repeats the instruction"),
    ("Describe the sea.", "blue blue blue blue blue blue blue blue blue", "repeats itself"),
    ("Describe the sea in detail.", "The sea is wide and deep and full of", "stops mid-sentence"),
    ("Write a short story about a brave knight.", "Once.", "asks for writing"),
    ("List the planets of the solar system.", "Mercury is the first planet and Venus is next", "not one"),
    ("Summarize", "A summary of nothing at all here.", "single word"),
    ("??? ### 123 !!!", "A reply.", "mostly not words"),
    ("Explain why the sky is blue and", "Because of Rayleigh scattering of sunlight.", "cut off"),
])
def test_each_penalty_says_why(instruction: str, output: str, reason: str) -> None:
    score, reasons = _score(instruction, output)
    assert score < 1.0
    assert any(reason in r for r in reasons), reasons


def test_penalties_multiply_and_stay_in_range() -> None:
    score, reasons = _score("Write", "as an ai language model, i cannot")
    assert 0.0 < score < 0.2 and len(reasons) >= 2
    for instruction, output in [("x", "y"), ("Write a poem.", "A poem."), ("", "text")]:
        score, _ = _score(instruction, output)
        assert 0.0 <= score <= 1.0
