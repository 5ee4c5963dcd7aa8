"""Re-evaluating a plan's filter rules on one example, for `recipekit why`.

A row check (length, regex, required) and a built-in score are pure functions
of the example's texts, so they are run again with the runtime's own code and
report the value they measured and the threshold they compared it with.
Decisions that depended on other examples (dedup, agreement) or on another
source (decontaminate) cannot be re-made from one example: the run's rejects
tell those (runtime/lineage.py adds the clusters).
"""

from __future__ import annotations

from typing import Any

import attrs
import re2

from .errors import RunError
from .filters import ROW_CHECKS
from .processors import ExactDedup
from .scorers import make_scorer
from .stage_labels import stage_label

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False


@attrs.define
class Decision:
    stage: str
    op: str
    label: str
    verdict: str  # "pass" or "drop": what the run decided
    value: Any = None  # what the rule measured
    threshold: Any = None  # what it was compared with
    reason: str | None = None  # the reject's words, for a drop
    note: str | None = None  # how the decision is known, when not re-made here

    def to_json(self) -> dict:
        return {name: getattr(self, name) for name in _FIELDS}  # attrs.asdict is 10x slower


_FIELDS = tuple(f.name for f in attrs.fields(Decision))


def _length(params: dict, example: dict) -> tuple[Any, str]:
    text = example[params["field"]]
    size = len(text.split()) if params["unit"] == "words" else len(text)
    return size, f"{params['min']}..{params['max']} {params['unit']}"


def _regex(params: dict, example: dict, pattern) -> tuple[Any, str]:
    match = pattern.search(example[params["field"]])
    return (match.group(0) if match else None), f"{params['action']} when it matches {params['pattern']!r}"


def _required(params: dict, example: dict) -> tuple[Any, str]:
    empty = [f for f in params["fields"] if not example[f].strip()]
    return (f"`{empty[0]}` is empty" if empty else "all present"), "non-empty " + ", ".join(params["fields"])


class Rechecker:
    """Each stage's rule compiled once, applied to as many examples as asked."""

    def __init__(self, allowed_scorers: tuple[str, ...] = ()) -> None:
        self.allowed = tuple(allowed_scorers)
        self.compiled: dict[str, Any] = {}

    def _compiled(self, stage: dict):
        found = self.compiled.get(stage["id"])
        if found is None:
            found = self.compiled[stage["id"]] = self._compile(stage)
        return found

    def _compile(self, stage: dict):
        op, params = stage["op"], stage["params"]
        if op in ROW_CHECKS:
            pattern = re2.compile(params["pattern"], _RE2_OPTIONS) if op == "filter.regex" else None
            return ROW_CHECKS[op](params), pattern
        if op == "dedup.exact":
            return ExactDedup(stage)
        if op == "score":
            try:
                return make_scorer(params["scorer"], params["options"], self.allowed)
            except RunError as err:  # a plugin that is not installed or allowed here
                return err
        return None

    def recheck(self, stage: dict, example: dict) -> Decision:
        """The rule of `stage` applied again to `example` (a dict with the three texts)."""
        op, params = stage["op"], stage["params"]
        decision = Decision(stage["id"], op, stage_label(stage), "pass")
        compiled = self._compiled(stage)
        if op in ROW_CHECKS:
            check, pattern = compiled
            measured = _regex(params, example, pattern) if pattern is not None else \
                (_length if op == "filter.length" else _required)(params, example)
            decision.value, decision.threshold = measured
            verdict = check(example)
            if verdict is not None:
                decision.verdict, decision.reason = "drop", verdict[1]
        elif op == "score":
            _score(decision, params, example, compiled)
        elif op == "dedup.exact":
            decision.value = compiled.key(example).hex()
            decision.note = "the first example with this key is kept"
        elif op == "dedup.near":
            decision.threshold = f"{params['metric']} >= {params['threshold']}"
            decision.note = "no earlier kept example was this similar"
        elif op == "decontaminate":
            decision.note = f"no {params['ngram']}-word window shared with `{params['against']}` (not re-checked here)"
        elif op == "agreement":
            decision.threshold = f">= {params['threshold']}"
            decision.note = "its item's annotators agreed enough and this is the majority annotation"
        return decision


def _score(decision: Decision, params: dict, example: dict, scorer) -> None:
    decision.threshold = f">= {params['threshold']}"
    if isinstance(scorer, RunError):
        decision.note = f"not re-scored here: {scorer.message}"
        return
    score, reasons = scorer(example)
    decision.value = round(score, 6)
    if score < params["threshold"]:
        decision.verdict = "drop"
        decision.reason = f"score {score:.3f} < {params['threshold']}" + (f": {'; '.join(reasons)}" if reasons else "")
    elif reasons:
        decision.note = "; ".join(reasons)
