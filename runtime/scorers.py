"""Quality scorers: an example in, a score in [0, 1] and the reasons out.

`heuristic` is built in and needs no model. It multiplies penalties for what
makes an instruction example bad, each with its reason, so that a rejected row
says why:

- the answer: empty, refusal boilerplate, only an echo of the instruction,
  heavy repetition, stopping mid-sentence;
- the answer's length against the question: one or two words for an
  instruction that asks for writing, explaining or listing;
- structure: an instruction that asks for a list or steps answered by one
  unbroken sentence;
- the instruction's clarity: a single word, mostly not words, or cut off.
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
# instructions that ask for a written answer of some length
_GENERATIVE = re.compile(r"\b(write|compose|create|generate|explain|describe|summari[sz]e|list|outline|draft|"
                         r"discuss|compare|give (me )?(some|several|a few|\d+|three|five|ten))\b", re.IGNORECASE)
_ASKS_FOR_LIST = re.compile(r"\b(list|enumerate|steps|bullet|outline|name (\d+|three|five|some|several))\b",
                            re.IGNORECASE)
_LIST_SHAPE = re.compile(r"(^|\n)\s*(\d+[.)]|[-*\u2022])\s|\n.+\n|[,;].+[,;]")
_DANGLING = {"and", "or", "but", "the", "a", "an", "of", "to", "with", "for", "because", "that", "which"}


def heuristic(example: dict) -> tuple[float, list[str]]:
    instruction, output = example["instruction"], example["output"]
    words = output.split()
    if not words:
        return 0.0, ["the output is empty"]
    score, reasons = 1.0, []
    for factor, reason in (*_answer_penalties(instruction, output, words), *_instruction_penalties(instruction)):
        score *= factor
        reasons.append(reason)
    return score, reasons


def _answer_penalties(instruction: str, output: str, words: list[str]):
    if _REFUSAL.search(output):
        yield 0.2, "the output is refusal boilerplate"
    if output.strip().lower() == instruction.strip().lower():
        yield 0.1, "the output repeats the instruction"
    distinct = len({w.lower() for w in words}) / len(words)
    if len(words) >= 8 and distinct < 0.3:
        yield 0.4, f"the output repeats itself ({distinct:.0%} distinct words)"
    if len(words) >= 6 and (words[-1].lower() in _DANGLING or output.rstrip()[-1:] in (",", ":", ";")):
        yield 0.7, "the output stops mid-sentence"
    if len(words) <= 2 and len(instruction.split()) >= 5 and _GENERATIVE.search(instruction):
        yield 0.5, f"a {len(words)}-word output for an instruction that asks for writing"
    elif _ASKS_FOR_LIST.search(instruction) and len(words) >= 3 and not _LIST_SHAPE.search(output):
        yield 0.7, "the instruction asks for a list; the output is not one"


def _instruction_penalties(instruction: str):
    tokens = instruction.split()
    if len(tokens) < 2:
        yield 0.6, "the instruction is a single word"
    letters = sum(ch.isalpha() for ch in instruction)
    if instruction.strip() and letters < 0.5 * len(instruction.strip()):
        yield 0.6, "the instruction is mostly not words"
    if len(tokens) >= 4 and (tokens[-1].lower() in _DANGLING or instruction.rstrip()[-1:] == ","):
        yield 0.7, "the instruction is cut off"


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
