"""ROUGE-L near-duplicate removal: the Self-Instruct criterion (`dedup near ... rouge_l`).

An example is a near duplicate when the ROUGE-L F1 of its text against some
kept example reaches the threshold (Self-Instruct and Alpaca reject above
0.7). Tokens are as the `rouge-score` package makes them without stemming:
lower case, every run of characters other than a-z and 0-9 a separator. Each
distinct token is mapped to one private-use character, so that a text becomes
a string whose characters are its tokens; then ROUGE-L F1 = 2·LCS/(m+n) is
exactly rapidfuzz's normalized InDel similarity (`fuzz.ratio` / 100), computed
in C against all kept texts at once (`process.extractOne`).
"""

from __future__ import annotations

import re

from rapidfuzz import fuzz, process

from .keyed import id_of
from .records import Reject, reject_for

_SPLIT = re.compile(r"[^a-z0-9]+")
_PRIVATE_USE = 0xF0000  # plane 15: 65,534 code points, then plane 16


def tokens(text: str) -> list[str]:
    return [t for t in _SPLIT.split(text.lower()) if t]


class TokenCodes:
    """One character per distinct token, so that LCS over tokens is LCS over characters."""

    def __init__(self) -> None:
        self.codes: dict[str, str] = {}

    def encode(self, text: str) -> str:
        codes = self.codes
        out = []
        for token in tokens(text):
            code = codes.get(token)
            if code is None:
                code = codes[token] = chr(_PRIVATE_USE + len(codes))
            out.append(code)
        return "".join(out)


def rouge_l_f1(a: str, b: str, codes: TokenCodes | None = None) -> float:
    codes = codes or TokenCodes()
    left, right = codes.encode(a), codes.encode(b)
    if not left or not right:
        return 0.0
    return fuzz.ratio(left, right) / 100


class RougeDedup:
    """Keeps an example unless its ROUGE-L F1 against a kept one reaches the threshold."""

    def __init__(self, stage: dict) -> None:
        params = stage["params"]
        self.stage_id = stage["id"]
        self.fields = params["fields"]
        self.threshold = params["threshold"]
        self.codes = TokenCodes()
        self.kept: list[str] = []
        self.kept_ids: list[str] = []

    def process(self, batch: list[dict], rejects: list[Reject]) -> list[dict]:
        kept = []
        for example in batch:
            text = self.codes.encode("\n".join(example[f] for f in self.fields))
            match = self._nearest(text)
            if match is None:
                self.kept.append(text)
                self.kept_ids.append(id_of(example))
                kept.append(example)
                continue
            other, similarity = match
            reason = f"near-duplicate of {other} (ROUGE-L F1 {similarity:.3f} >= {self.threshold})"
            rejects.append(reject_for(self.stage_id, example, "near-duplicate", reason,
                                      {"kept": other, "similarity": round(similarity, 4)}))
        return kept

    def _nearest(self, text: str) -> tuple[str, float] | None:
        if not text or not self.kept:
            return None
        found = process.extractOne(text, self.kept, scorer=fuzz.ratio, score_cutoff=self.threshold * 100)
        if found is None:
            return None
        _, score, index = found
        return self.kept_ids[index], score / 100
