"""Instruction diversity: the leading verb of each instruction, its distribution
and its normalized entropy (the diversity score), with no model.

The verb is the first word of the instruction once leading courtesy and
framing words are skipped ("Please", "Can you", "I want you to") and an
opening clause is passed ("Given a list of numbers, find ..." gives "find"),
lower-cased.
An instruction that opens with a question word is counted under "(question)";
one with no words under "(none)". This is cruder than the verb-noun parses
Self-Instruct plotted, but it is deterministic, fast and needs nothing.

Normalized entropy is H / log(k) for k distinct verbs: 1 when every verb is as
frequent as every other, near 0 when one verb dominates (0 for a single verb).
"""

from __future__ import annotations

import math
import re
from collections import Counter

from .errors import RunError

_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
_SKIP = frozenset(
    "please kindly can could would will you i we want need like to let's lets now then also just "
    "help me us quickly briefly".split()
)
_QUESTION = frozenset("what which who whom whose why how when where is are was were do does did "
                      "am should shall may might has have had".split())


# An opening clause ("Given a list of numbers, find ...") hides the verb after its comma.
_CLAUSE = frozenset("given based using for in from with as after if when suppose imagine".split())


def leading_verb(instruction: str) -> str:
    for raw in instruction[:160].split(None, 8):
        match = _WORD.search(raw)
        if match is None:
            continue
        word = match.group(0).lower()
        if word in _SKIP:
            continue
        if word in _CLAUSE and "," in instruction:
            return leading_verb(instruction.split(",", 1)[1])
        return "(question)" if word in _QUESTION else word
    return "(none)"


class LeadingVerbs:
    """`leading_verb`, remembering what a first word decides.

    Most instructions are decided by their first word alone (one that is not
    a courtesy word or an opening clause): the answer is kept by that word, so
    the regular expression runs once per distinct first word, not per row.
    `value(verb)` maps each verb to what the caller keeps (an id, the text).
    """

    _CACHE_LIMIT = 1 << 16

    def __init__(self, value=None) -> None:
        self.value = value or (lambda verb: verb)
        self.by_word: dict = {}

    def __call__(self, instruction: str):
        head = instruction[:40].split(None, 1)
        if len(head) == 2:  # the first word ended inside the slice: it is whole
            known = self.by_word.get(head[0])
            if known is not None:
                return known
        value = self.value(leading_verb(instruction))
        if len(head) == 2 and _decided_by(head[0]) and len(self.by_word) < self._CACHE_LIMIT:
            self.by_word[head[0]] = value
        return value


class VerbIds(LeadingVerbs):
    """Leading verbs as small ids, in order of first appearance (`ids`: verb -> id)."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        super().__init__(lambda verb: self.ids.setdefault(verb, len(self.ids)))


def _decided_by(first: str) -> bool:
    """Whether `leading_verb` looks no further than this first word."""
    match = _WORD.search(first)
    if match is None:
        return False
    word = match.group(0).lower()
    return word not in _SKIP and word not in _CLAUSE


def normalized_entropy(counts: Counter) -> float:
    total = sum(counts.values())
    if total == 0 or len(counts) < 2:
        return 0.0
    entropy = -sum(c / total * math.log(c / total) for c in counts.values() if c)
    return entropy / math.log(len(counts))


def check_diversity(mix: dict, counts: Counter) -> None:
    """A mix that misses its declared `min_verb_diversity` stops the run, with the numbers."""
    target = mix["params"].get("min_verb_diversity")
    achieved = normalized_entropy(counts)
    if target is not None and achieved + 1e-12 < target:
        raise RunError(f"mix `{mix['id'].split(':', 1)[1]}` reaches verb diversity {achieved:.3f}, "
                       f"below its target {target}",
                       hint="lower `min_verb_diversity`, set `max_verb_share`, or add more varied sources")


def summary(counts: Counter, params: dict | None = None, short: dict | None = None,
            categories: dict | None = None, top: int = 20) -> dict:
    """For the manifest: the diversity score, the most frequent verbs, and the targets
    with what was achieved (when the mix declares any)."""
    total = sum(counts.values()) or 1
    params = params or {}
    targets = None
    balance = params.get("balance")
    if params.get("max_verb_share") is not None or params.get("min_verb_diversity") is not None or balance:
        targets = {"max_verb_share": params.get("max_verb_share"),
                   "achieved_max_share": round(max(counts.values(), default=0) / total, 6),
                   "min_verb_diversity": params.get("min_verb_diversity"),
                   "short": dict(sorted((short or {}).items())),
                   "balance": {**balance, "counts": categories or {}} if balance else None}
    return {
        "score": round(normalized_entropy(counts), 6),
        "targets": targets,
        "distinct_verbs": len(counts),
        "top_verbs": [{"verb": verb, "count": count, "share": round(count / total, 6)}
                      for verb, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]],
    }
