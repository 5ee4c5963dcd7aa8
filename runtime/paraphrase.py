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
    """The `expand` stage: each seed row becomes up to `variants` new examples.

    By paraphrase alone, a variant is a distinct rewrite of the seed's
    instruction. With input variation (`inputs = [...]` or `inputs = SOURCE`)
    a variant pairs an instruction — the seed's own or a rewrite — with a new
    instance: a listed string as the input (the seed's output kept: for inputs
    that do not change the answer, such as context or format lines), or a row
    of the input source (its `input_field` as the input, its `output` as the
    output: the seed's instruction describes the task, the source supplies the
    instances). The instances are ranked once by keyed hash; a seed starts at
    a keyed position in that ranking and takes the next ones, so seeds draw
    different instances and every (instruction, instance) pair is distinct.
    """

    def __init__(self, stage: dict, entry: str, seed: int, rows_of=None) -> None:
        params = stage["params"]
        self.stage_id = stage["id"]
        self.entry = entry
        self.seed = seed
        self.variants = params["variants"]
        self.pattern, self.options = compile_rules(params["rules"])
        self.salt = stage_seed(seed, self.stage_id)
        self.carry = params.get("carry") or []
        self.instances = self._instances(stage, rows_of)

    def _instances(self, stage: dict, rows_of) -> list[tuple[str, str | None, str]] | None:
        """(input, output or None for the seed's, origin) of every new instance, ranked."""
        params = stage["params"]
        if params["inputs"] is not None:
            found = [(text, None, f"inputs[{n}]") for n, text in enumerate(params["inputs"])]
        elif len(stage["inputs"]) > 1:
            if rows_of is None:
                raise RunError(f"`{self.stage_id}`: this engine cannot read the input source of an expansion",
                               hint="run it with the local engine")
            field = params["input_field"] or "input"
            found = [(_text(row.fields.get(field)), _text(row.fields.get("output")), row.id.key())
                     for row in rows_of(stage["inputs"][1])]
        else:
            return None
        salt = f"{self.stage_id}#instances"
        return sorted(found, key=lambda item: (keyed(self.seed, salt, item[2]), item[2]))

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
        seed_input, seed_output = fields.get("input") or "", fields.get("output") or ""
        if self.instances is None:
            made = [(text, seed_input, seed_output, applied) for text, applied in ranked[: self.variants]]
        else:
            made = self._with_instances(key, [(instruction, [])] + ranked, seed_output)
        return [{
            "instruction": text, "input": text_input, "output": output,
            "_key": xxh3_64_intdigest(IDENTITY.pack(row.id.row, row.id.part, number, 0, 0), self.salt),
            "_entry": self.entry,
            "_prov": Provenance(row.id.source, row.id.row, row.id.part, None, None, applied, key),
            **({"_carry": {f: fields.get(f) for f in self.carry}} if self.carry else {}),
        } for number, (text, text_input, output, applied) in enumerate(made)]

    def _with_instances(self, key: str, instructions: list, seed_output: str) -> list[tuple]:
        """`variants` distinct (instruction, instance) pairs: pair j takes instance
        start + j and instruction j // len(instances), both wrapping."""
        instances = self.instances
        if not instances:
            return []
        start = keyed(self.seed, f"{self.stage_id}#start", key) % len(instances)
        made = []
        for j in range(min(self.variants, len(instances) * len(instructions))):
            text_input, output, origin = instances[(start + j) % len(instances)]
            text, applied = instructions[j // len(instances)]
            made.append((text, text_input, seed_output if output is None else output,
                         [*applied, f"input <- {origin}"]))
        return made


def _text(value) -> str:
    """A field value as text, the way a template renders it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)
