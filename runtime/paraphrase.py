"""Rule-based paraphrase of instructions, and the `expand` stage built on it.

Rules come from the plan: a symmetric group (`"Write" <-> "Compose"`) lets any
phrase stand for any other; a one-way chain (`"a" -> "b" -> "c"`) rewrites a
to b and b to c. Matching is on word boundaries and ignores case; a
replacement takes the case of what it replaces (`write` -> `compose`, `WRITE`
-> `COMPOSE`). Text inside `{...}` is never touched, so placeholders survive.

An instruction's candidate variants are all the ways of rewriting its matched
sites (the first `MAX_SITES`); the expansion keeps `variants` of them, ranked
by keyed hash so that the choice is reproducible and order-free.
"""

from __future__ import annotations

import itertools
import re

from xxhash import xxh3_64_intdigest

from .errors import RunError
from .keyed import keyed, stage_seed
from .records import IDENTITY, Provenance, SourceRow

MAX_SITES = 8
MAX_CANDIDATES = 512


def compile_rules(rules: list[dict]) -> tuple[re.Pattern | None, dict[str, list[str]]]:
    """One alternation of every phrase, and each phrase's replacements (lower-cased keys)."""
    options: dict[str, list[str]] = {}
    for rule in rules:
        phrases = rule["phrases"]
        if rule["symmetric"]:
            for phrase in phrases:
                _add(options, phrase, [p for p in phrases if p.lower() != phrase.lower()])
        else:
            for left, right in zip(phrases, phrases[1:]):
                _add(options, left, [right])
    if not options:
        return None, options
    words = sorted(options, key=len, reverse=True)  # longest phrase wins at a position
    alternation = "|".join(re.escape(w) for w in words)
    return re.compile(rf"\{{[^{{}}]*\}}|(?<!\w)(?:{alternation})(?!\w)", re.IGNORECASE), options


def _add(options: dict, phrase: str, targets: list[str]) -> None:
    known = options.setdefault(phrase.lower(), [])
    known.extend(t for t in targets if t not in known)


def match_case(replacement: str, original: str) -> str:
    if original.isupper() and len(original) > 1:
        return replacement.upper()
    if original[:1].isupper():
        return replacement[:1].upper() + replacement[1:]
    if original.islower():
        return replacement[:1].lower() + replacement[1:]
    return replacement


def variants_of(text: str, pattern: re.Pattern | None, options: dict) -> list[tuple[str, list[str]]]:
    """Every distinct rewrite of `text` (not `text` itself), with the rules applied."""
    if pattern is None:
        return []
    sites = [m for m in pattern.finditer(text) if not m.group(0).startswith("{")][:MAX_SITES]
    choices = [[None] + options[m.group(0).lower()] for m in sites]
    seen, found = {text}, []
    for combo in itertools.islice(itertools.product(*choices), MAX_CANDIDATES):
        rewritten, applied = _apply(text, sites, combo)
        if rewritten not in seen:
            seen.add(rewritten)
            found.append((rewritten, applied))
    return found


def _apply(text: str, sites: list[re.Match], combo: tuple) -> tuple[str, list[str]]:
    pieces, applied, last = [], [], 0
    for match, target in zip(sites, combo):
        if target is None:
            continue
        original = match.group(0)
        pieces += [text[last:match.start()], match_case(target, original)]
        applied.append(f"{original} -> {target}")
        last = match.end()
    pieces.append(text[last:])
    return "".join(pieces), applied


class Expander:
    """The `expand` stage: seed rows become `variants` paraphrased examples each."""

    def __init__(self, stage: dict, entry: str, seed: int) -> None:
        params = stage["params"]
        self.stage_id = stage["id"]
        self.entry = entry
        self.seed = seed
        self.variants = params["variants"]
        if params["inputs"] is not None or len(stage["inputs"]) > 1:
            raise RunError(f"`{self.stage_id}`: input variation (`inputs = ...`) is not executable yet",
                           hint="expand by paraphrase only for now; input variation is an open issue")
        self.pattern, self.options = compile_rules(params["rules"])
        self.salt = stage_seed(seed, self.stage_id)
        self.carry = params.get("carry") or []

    def expand(self, rows: list[SourceRow], rejects: list) -> list[dict]:
        out = []
        for row in rows:
            out.extend(self._expand_row(row))
        return out

    def _expand_row(self, row: SourceRow) -> list[dict]:
        key = row.id.key()
        fields = row.fields
        instruction = fields.get("instruction") or ""
        candidates = variants_of(instruction, self.pattern, self.options)
        ranked = sorted(candidates, key=lambda c: (keyed(self.seed, self.stage_id, f"{key}|{c[0]}"), c[0]))
        parent = key  # the seed row, `source/row/part`
        examples = []
        for number, (text, applied) in enumerate(ranked[: self.variants]):
            examples.append({
                "instruction": text, "input": fields.get("input") or "", "output": fields.get("output") or "",
                "_key": xxh3_64_intdigest(IDENTITY.pack(row.id.row, row.id.part, number, 0, 0), self.salt),
                "_entry": self.entry,
                "_prov": Provenance(row.id.source, row.id.row, row.id.part, None, None, applied, parent),
                **({"_carry": {f: fields.get(f) for f in self.carry}} if self.carry else {}),
            })
        return examples
