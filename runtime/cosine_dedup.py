"""Near-duplicate removal by the cosine similarity of sentence embeddings
(`dedup near ... cosine`).

Each example's fields are embedded (embeddings.py) and compared with every
kept example by matrix products, a block of kept vectors at a time; the
first example of a group is kept, and a reject names the kept example it was
nearest and their similarity.

The decisions must not depend on the batch size, and a BLAS product of
floats does (its summation order follows the matrix shapes). So each unit
vector is stored as integers, round(v * 2^20), held in float64 for the
product: every partial sum is then an integer below 2^53, exact in any
order, and the similarity (the dot product / 2^40) is the same bits whatever
the blocks. Similarities are rounded to 4 decimals, the precision the
rejects report, and the rounded value is compared with the threshold (so an
example and itself score 1.0 despite the rounding of the integers).
"""

from __future__ import annotations

import numpy as np

from .embeddings import DEFAULT_MODEL, load_model
from .keyed import id_of
from .records import Reject, reject_for

_SCALE = float(1 << 20)
_UNSCALE = 1.0 / (1 << 40)
_CHUNK = 1024  # new examples per matrix product (the chunk x chunk matrix is 8 MB)
_BLOCK = 4096  # kept vectors per matrix product


def quantize(vectors: np.ndarray) -> np.ndarray:
    """Unit vectors as integers (|x| <= 2^20, exact in float32 and float64)."""
    return np.rint(vectors.astype(np.float64) * _SCALE)


def similarities(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Cosine similarities of quantized unit vectors, to 4 decimals; exact whatever the shapes."""
    products = left @ right.T
    products *= _UNSCALE  # a power of two: exact
    return np.round(products, 4, out=products)


class CosineDedup:
    def __init__(self, stage: dict) -> None:
        params = stage["params"]
        self.stage_id = stage["id"]
        self.fields = params["fields"]
        self.threshold = params["threshold"]
        self.model = load_model(params.get("model", DEFAULT_MODEL))
        self.kept = np.empty((1024, self.model.spec.dimension), dtype=np.float32)  # quantized, first `count` rows
        self.count = 0
        self.kept_ids: list[str] = []

    def process(self, batch: list[dict], rejects: list[Reject]) -> list[dict]:
        if not batch:
            return batch
        vectors = quantize(self.model.embed(["\n".join(e[f] for f in self.fields) for e in batch]))
        kept = []
        for start in range(0, len(batch), _CHUNK):
            kept += self._chunk(batch[start:start + _CHUNK], vectors[start:start + _CHUNK], rejects)
        return kept

    def _chunk(self, examples: list[dict], vectors: np.ndarray, rejects: list[Reject]) -> list[dict]:
        best, where = self._nearest_kept(vectors)
        among = similarities(vectors, vectors)  # against the examples kept earlier in this chunk
        kept, positions, indices = [], [], []
        for i, example in enumerate(examples):
            similarity, index = best[i], where[i]
            if positions:
                row = among[i, positions]
                j = int(np.argmax(row))
                if row[j] > similarity:  # a tie goes to the earlier kept example
                    similarity, index = row[j], indices[j]
            if similarity >= self.threshold:
                other = self.kept_ids[index]
                reason = f"near-duplicate of {other} (cosine {similarity:.4f} >= {self.threshold})"
                rejects.append(reject_for(self.stage_id, example, "near-duplicate", reason,
                                          {"kept": other, "similarity": float(similarity)}))
                continue
            positions.append(i)
            indices.append(self._keep(vectors[i], id_of(example)))
            kept.append(example)
        return kept

    def _nearest_kept(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each vector, the highest similarity to an example kept before it, and that example's index."""
        best = np.full(len(vectors), -np.inf)
        where = np.full(len(vectors), -1, dtype=np.int64)
        for start in range(0, self.count, _BLOCK):
            block = self.kept[start:min(start + _BLOCK, self.count)].astype(np.float64)
            scores = similarities(vectors, block)
            top = scores.argmax(axis=1)
            value = scores[np.arange(len(vectors)), top]
            better = value > best  # strictly: a tie keeps the earlier block's example
            best[better], where[better] = value[better], top[better] + start
        return best, where

    def _keep(self, vector: np.ndarray, example_id: str) -> int:
        if self.count == len(self.kept):
            self.kept = np.concatenate([self.kept, np.empty_like(self.kept)])
        self.kept[self.count] = vector
        self.kept_ids.append(example_id)
        self.count += 1
        return self.count - 1
