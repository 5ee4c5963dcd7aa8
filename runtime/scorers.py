"""Quality scorers: an example in, a score in [0, 1] and the reasons out.

`heuristic` is built in and needs no model: it multiplies penalties for what
makes an instruction example bad (an empty or refusing answer, an answer that
only echoes the instruction, heavy repetition, an answer far too short for
what was asked). Each penalty comes with a reason, so a rejected row says why.
"""

from __future__ import annotations

import re
from typing import Callable

from .errors import RunError

Scorer = Callable[[dict], "tuple[float, list[str]]"]

_REFUSAL = re.compile(
    r"\b(as an ai( language model)?|i('| a)m (sorry|unable)|i cannot|i can't|i do not have (access|the ability))\b",
    re.IGNORECASE,
)


def heuristic(example: dict) -> tuple[float, list[str]]:
    instruction, output = example["instruction"], example["output"]
    words = output.split()
    if not words:
        return 0.0, ["the output is empty"]
    score, reasons = 1.0, []
    if _REFUSAL.search(output):
        score *= 0.2
        reasons.append("the output is refusal boilerplate")
    if output.strip().lower() == instruction.strip().lower():
        score *= 0.1
        reasons.append("the output repeats the instruction")
    distinct = len({w.lower() for w in words}) / len(words)
    if len(words) >= 8 and distinct < 0.3:
        score *= 0.4
        reasons.append(f"the output repeats itself ({distinct:.0%} distinct words)")
    if len(instruction.split()) < 2:
        score *= 0.6
        reasons.append("the instruction is a single word")
    return score, reasons


_BUILT_IN = {"heuristic": heuristic}


def make_scorer(name: str, options: dict) -> Scorer:
    scorer = _BUILT_IN.get(name)
    if scorer is None:
        raise RunError(f"no scorer named `{name}`", hint="the built-in scorer is `heuristic`")
    return scorer
