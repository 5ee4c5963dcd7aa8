"""Quality scorers: an example in, a score in [0, 1] and the reasons out.

`heuristic` is built in and needs no model: it multiplies penalties for what
makes an instruction example bad (an empty or refusing answer, an answer that
only echoes the instruction, heavy repetition, an answer far too short for
what was asked). Each penalty comes with a reason, so a rejected row says why.
"""

from __future__ import annotations

import re
from importlib import metadata
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
PLUGIN_GROUP = "recipekit.scorers"


def make_scorer(name: str, options: dict, allowed: tuple[str, ...] = ()) -> Scorer:
    """A built-in scorer, or a plugin (an entry point in `recipekit.scorers`) that the
    person running the recipe allowed by name: a recipe alone never runs code."""
    scorer = _BUILT_IN.get(name)
    if scorer is not None:
        return scorer
    plugin = next((ep for ep in metadata.entry_points(group=PLUGIN_GROUP) if ep.name == name), None)
    if plugin is None:
        installed = sorted({ep.name for ep in metadata.entry_points(group=PLUGIN_GROUP)})
        raise RunError(f"no scorer named `{name}`", hint="the built-in scorer is `heuristic`"
                       + (f"; installed plugins: {', '.join(installed)}" if installed else ""))
    if name not in allowed:
        raise RunError(f"scorer `{name}` is a plugin ({plugin.value}) and plugins run only when allowed",
                       hint=f"run with `--allow-scorer {name}` if you trust it")
    return _checked(name, plugin.load())


def _checked(name: str, function: Callable) -> Scorer:
    """A plugin sees only the example's texts, and must answer a score in [0, 1]."""

    def score(example: dict) -> tuple[float, list[str]]:
        answer = function({k: example[k] for k in ("instruction", "input", "output")})
        value, reasons = answer if isinstance(answer, tuple) else (answer, [])
        if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
            raise RunError(f"scorer plugin `{name}` returned {value!r}, not a number in [0, 1]")
        return float(value), list(reasons)

    return score


def plugin_versions(names: tuple[str, ...]) -> list[dict]:
    """For the manifest: each allowed plugin's entry point and distribution version."""
    found = []
    for ep in metadata.entry_points(group=PLUGIN_GROUP):
        if ep.name in names:
            dist = ep.dist
            found.append({"name": ep.name, "entry_point": ep.value,
                          "distribution": dist.name if dist else None, "version": dist.version if dist else None})
    return sorted(found, key=lambda p: p["name"])
