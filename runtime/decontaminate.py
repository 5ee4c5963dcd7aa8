"""The `decontaminate` stage: drop examples that share an n-word window with an
evaluation set, so that a model is not trained on what it will be tested on.

Every window of `ngram` consecutive words (lower-cased, `\\w+` tokens) of every
text field of the evaluation rows is hashed (xxh3_64) into a set; an example
is dropped when any window of its chosen fields is in the set, and the reject
quotes the window. Evaluation texts shorter than a window contribute nothing:
a short answer such as "yes" is not contamination.
"""

from __future__ import annotations

import re
from typing import Callable, Iterable

from xxhash import xxh3_64_intdigest

from .records import Reject, SourceRow, reject_for

_WORD = re.compile(r"\w+")


def windows(text: str, size: int) -> Iterable[tuple[int, list[str]]]:
    words = _WORD.findall(text.lower())
    for start in range(len(words) - size + 1):
        yield start, words[start:start + size]


def _hash(words: list[str]) -> int:
    return xxh3_64_intdigest(" ".join(words).encode("utf-8", "surrogatepass"))


class Decontaminate:
    def __init__(self, stage: dict, eval_rows: Callable[[str], Iterable[SourceRow]]) -> None:
        params = stage["params"]
        self.stage_id = stage["id"]
        self.fields = params["fields"]
        self.size = params["ngram"]
        self.against = params["against"]
        self.seen: set[int] = set()
        for row in eval_rows(stage["inputs"][1]):
            for value in row.fields.values():
                for text in value if isinstance(value, list) else [value]:
                    if isinstance(text, str):
                        self.seen.update(_hash(w) for _, w in windows(text, self.size))

    def process(self, batch: list[dict], rejects: list[Reject]) -> list[dict]:
        kept = []
        for example in batch:
            window = self._shared_window(example)
            if window is None:
                kept.append(example)
            else:
                reason = f"shares a {self.size}-word window with evaluation set `{self.against}`: {window!r}"
                rejects.append(reject_for(self.stage_id, example, "contamination", reason, window))
        return kept

    def _shared_window(self, example: dict) -> str | None:
        seen = self.seen
        for field in self.fields:
            for _, words in windows(example[field], self.size):
                if _hash(words) in seen:
                    return " ".join(words)
        return None
