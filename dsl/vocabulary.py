"""The words of the language: block kinds, their attributes, rule words, options.

One table, so that the builder, the formatter, `docs/language.md` and the
did-you-mean hints all agree on what exists.
"""

from __future__ import annotations

import difflib
from typing import Iterable

BLOCK_KINDS = ("recipe", "source", "template", "paraphrase", "expand", "filter", "mix", "output")

# The word that links a block to what it reads from: `template t on s`.
BLOCK_LINKS = {"template": "on", "expand": "from", "output": "from"}

ATTRIBUTES = {
    "recipe": ("seed", "description", "version"),
    "source": ("from", "format", "kind", "explode", "allow_outside"),
    "template": ("instruction", "input", "output", "choose"),
    "paraphrase": (),
    "expand": ("paraphrase", "variants", "inputs", "input_field"),
    "filter": ("ordered",),
    "mix": ("size", "filter", "temperature", "on_short", "max_epochs", "max_verb_share", "min_verb_diversity",
            "balance", "max_share"),
    "output": ("to", "format", "provenance", "system", "order", "review"),
}

NESTED_BLOCKS = {
    "source": ("schema", "labels", "cost"),
    "template": ("fewshot",),
}

NESTED_ATTRIBUTES = {
    "cost": ("usd_per_hour", "minutes_per_example"),
    "fewshot": ("count", "separator"),
}

REQUIRED = {
    "source": ("from",),
    "template": ("instruction", "output"),
    "output": ("to",),
    "fewshot": ("count",),
}

OPTIONS = {
    "format": ("jsonl", "json", "csv", "tsv", "parquet"),
    "kind": ("dataset", "human", "seed"),
    "choose": ("random", "each"),
    "on_short": ("error", "repeat", "shrink"),
    "output_format": ("alpaca", "messages"),
    "length_unit": ("chars", "words"),
    "regex_action": ("keep", "drop"),
    "normalize": ("lower", "whitespace", "nfkc", "punctuation"),
    "near_metric": ("jaccard", "rouge_l", "cosine"),
    "provenance": ("source", "row", "template", "phrasing", "paraphrase", "parent", "hash"),
}

TYPES = ("str", "int", "float", "bool", "list")

# The embedding models of `dedup near ... cosine { model = "..." }`, the default
# first. The runtime's registry (runtime/embeddings.py MODELS) names the same ones.
EMBEDDING_MODELS = ("all-MiniLM-L6-v2-int8",)

FILTER_RULES = ("length", "keep", "drop", "require", "dedup", "score", "agreement", "decontaminate")

RULE_OPTIONS = {
    "near": ("num_perm", "bands", "ngram", "unit", "model", "seed"),
    "score": ("weight", "allow"),
    "agreement": ("method", "item", "annotator", "label"),
    "decontaminate": ("ngram",),
}


def suggest(word: str, candidates: Iterable[str]) -> str | None:
    """The closest candidate by edit similarity, if one is close enough."""
    found = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    if not found and len(word) > 3:
        # a word cut short or run on (`temp` for `temperature`); never a one-letter name
        found = [c for c in candidates if len(c) > 3 and (word.startswith(c) or c.startswith(word))][:1]
    return found[0] if found else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    found = suggest(word, candidates)
    return f"did you mean `{found}`?" if found else None


def one_of(words: Iterable[str]) -> str:
    """`a`, `b` or `c` — for messages."""
    quoted = [f"`{w}`" for w in words]
    if len(quoted) <= 1:
        return "".join(quoted)
    return ", ".join(quoted[:-1]) + " or " + quoted[-1]
