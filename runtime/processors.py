"""Filter-stage processors: `(batch, rejects) -> kept`, one per plan op.

Row checks (length, regex, required) and the heuristic score look at one
example at a time; exact and near dedup remember what they kept, first come
first kept, so their answers follow the stream order (mix order, then source
order), never the batch boundaries.
"""

from __future__ import annotations

import operator
from typing import Callable

import orjson
from xxhash import xxh3_128_digest

from .agreement import Agreement
from .cosine_dedup import CosineDedup
from .decontaminate import Decontaminate
from .errors import RunError
from .filters import ROW_CHECKS
from .keyset import KeySet
from .near_dedup import NearDedup
from .normalize import dedup_key, make_normalizer
from .records import Reject, reject_for
from .rouge import RougeDedup
from .scorers import make_scorer

Processor = Callable[[list, list], list]


def make_processor(stage: dict, seed: int, rows_of: Callable | None = None,
                   allowed_scorers: tuple[str, ...] = ()) -> Processor:
    """The processor of a filter stage; `rows_of(read_stage_id)` reads another source
    (the evaluation set of `decontaminate`), counting its rows and rejects."""
    op = stage["op"]
    if op == "decontaminate":
        return Decontaminate(stage, rows_of).process
    if op in ROW_CHECKS:
        return _row_filter(stage["id"], ROW_CHECKS[op](stage["params"]))
    if op == "dedup.exact":
        return ExactDedup(stage).process
    if op == "dedup.near" and stage["params"]["metric"] == "rouge_l":
        return RougeDedup(stage).process
    if op == "dedup.near" and stage["params"]["metric"] == "cosine":
        return CosineDedup(stage).process
    if op == "dedup.near":
        return NearDedup(stage, seed).process
    if op == "score":
        return _score_filter(stage, allowed_scorers)
    if op == "agreement":
        return Agreement(stage)
    raise RunError(f"this runtime cannot execute `{op}` stages yet ({stage['id']})",
                   hint="remove the rule from the filter, or use a recipekit that supports it")


def _row_filter(stage_id: str, check) -> Processor:
    def process(batch: list[dict], rejects: list[Reject]) -> list[dict]:
        kept = []
        for example in batch:
            verdict = check(example)
            if verdict is None:
                kept.append(example)
            else:
                rejects.append(reject_for(stage_id, example, *verdict))
        return kept

    return process


class ExactDedup:
    """Keeps the first example of each key; the key is xxh3_128 of normalized fields.

    With `whitespace` among the normalizers, the fields are joined with " NUL "
    and normalized in one pass: the NULs become words of their own, so the
    result is the fields' normalized words with a NUL word between fields —
    the same grouping as normalizing each field on its own, at a third of the
    cost. A field that itself holds a NUL takes the per-field path of
    `dedup_key`. Filter fields are the example's texts, always strings.
    """

    def __init__(self, stage: dict) -> None:
        self.stage_id = stage["id"]
        self.fields = stage["params"]["fields"]
        self.normalize = make_normalizer(stage["params"]["normalize"])
        self.joined = "whitespace" in stage["params"]["normalize"]
        self.values = operator.itemgetter(*self.fields) if len(self.fields) > 1 else \
            (lambda example, field=self.fields[0]: (example[field],))
        if set(stage["params"]["normalize"]) == {"lower", "whitespace"}:  # the usual pair, inlined
            self.normalize = lambda text: " ".join(text.lower().split())
        self.seen = KeySet()
        self.reason = f"duplicate of an earlier example on ({', '.join(self.fields)})"

    def key(self, example: dict) -> bytes:
        values = self.values(example)
        if self.joined:
            text = self.normalize(" \0 ".join(values))
            if text.count("\0") == len(values) - 1:
                return xxh3_128_digest(text.encode("utf-8", "surrogatepass"))
        return dedup_key(list(values), self.normalize)

    def process(self, batch: list[dict], rejects: list[Reject]) -> list[dict]:
        keys = [self.key(e) for e in batch]
        fresh = self.seen.add_batch(keys)
        kept = []
        for example, key, new in zip(batch, keys, fresh):
            if new:
                kept.append(example)
            else:
                rejects.append(reject_for(self.stage_id, example, "duplicate", self.reason, key.hex()))
        return kept

    def encoded_rejects(self, source: str, rows: list, parts: list, keys: bytes, quoted: list) -> bytes:
        """rejects.jsonl lines for duplicates known by columns: the bytes `process` writes for
        them, spliced from each example's JSON as `reject_for` quotes it (`quoted`)."""
        head = orjson.dumps({"stage": self.stage_id, "rule": "duplicate", "reason": self.reason})[:-1]
        where = b',"source":' + orjson.dumps(source)
        out = bytearray()
        for number, (row, part, text) in enumerate(zip(rows, parts, quoted)):
            key = keys[16 * number:16 * number + 16].hex()
            out += b'%s,"value":"%s"%s,"row":%d,"part":%d,"example":%s}\n' % (head, key.encode(), where, row, part,
                                                                            text)
        return bytes(out)


def _score_filter(stage: dict, allowed: tuple[str, ...]) -> Processor:
    scorer = make_scorer(stage["params"]["scorer"], stage["params"]["options"], allowed)
    threshold = stage["params"]["threshold"]
    stage_id = stage["id"]

    def process(batch: list[dict], rejects: list[Reject]) -> list[dict]:
        kept = []
        for example in batch:
            score, reasons = scorer(example)
            if score >= threshold:
                example["_score"] = score  # an output may be ordered by it
                kept.append(example)
            else:
                why = f"score {score:.3f} < {threshold}" + (f": {'; '.join(reasons)}" if reasons else "")
                rejects.append(reject_for(stage_id, example, "score", why, round(score, 6)))
        return kept

    return process
