"""Near-duplicate removal with MinHash and LSH banding (`dedup near ... jaccard`).

Each example's chosen fields are lower-cased and cut into word (or character)
n-grams; each n-gram is hashed once with xxh3 and then permuted `num_perm`
times by universal hashing, `(a*h + b) mod (2^61 - 1)` (the product wrapping
at 2^64, as in datasketch), vectorised over the
whole batch with numpy. Signatures are cut into `bands` bands; examples that
share a band bucket are candidates, and a candidate whose exact Jaccard (of
the two sets of n-gram hashes) reaches the threshold is a duplicate.

Kept examples are indexed as they stream by, so the first of a group is the
one kept, and every reject names the kept example it was near and the
estimated similarity.
"""

from __future__ import annotations

import re

import numpy as np
import xxhash

from .errors import RunError
from .keyed import id_of
from .records import Reject, reject_for

_PRIME = np.uint64((1 << 61) - 1)
_FOLD = np.uint64(0x100000001B3)  # the FNV prime: folds a band's values into one key
_ROWS_PER_SLICE = 256
_TOKEN = re.compile(r"\w+")


def shingles(text: str, ngram: int, unit: str) -> list[str]:
    tokens = _TOKEN.findall(text.lower()) if unit == "words" else list(text.lower())
    if len(tokens) <= ngram:
        return [" ".join(tokens)] if tokens else [""]
    joiner = " " if unit == "words" else ""
    return [joiner.join(tokens[i:i + ngram]) for i in range(len(tokens) - ngram + 1)]


class NearDedup:
    def __init__(self, stage: dict, seed: int) -> None:
        params = stage["params"]
        if params["metric"] != "jaccard":  # rouge_l is rouge.py's, cosine cosine_dedup.py's
            raise RunError(f"near-duplicate metric `{params['metric']}` is not supported by this runtime",
                           hint="use `jaccard` (MinHash), `rouge_l` or `cosine`")
        self.stage_id = stage["id"]
        self.fields = params["fields"]
        self.threshold = params["threshold"]
        self.ngram, self.unit = params["ngram"], params["unit"]
        self.bands, self.rows = params["bands"], params["rows"]
        seed = params.get("seed", seed)  # a rule may pin its own hash functions
        rng = np.random.Generator(np.random.PCG64(seed & ((1 << 64) - 1)))
        # a and b span the whole field: with small ones, a*h + b never wraps for small h and
        # every permutation would order the shingles alike (all slots equal the smallest h)
        self.a = rng.integers(1, (1 << 61) - 1, size=params["num_perm"], dtype=np.uint64)
        self.b = rng.integers(0, (1 << 61) - 1, size=params["num_perm"], dtype=np.uint64)
        self.hash_seed = seed & ((1 << 64) - 1)
        self.buckets: list[dict[int, list[int]]] = [{} for _ in range(self.bands)]
        self.kept: list[np.ndarray] = []  # each kept example's shingle hashes, sorted and unique
        self.kept_ids: list[str] = []

    def signatures(self, batch: list[dict]) -> tuple[np.ndarray, list[np.ndarray]]:
        """MinHash signatures of the batch, and each example's shingle hashes (for the exact check).

        Computed a slice of rows at a time: the n-grams × permutations matrix of a
        whole batch would take hundreds of MB."""
        signatures, sets = [], []
        for start in range(0, len(batch), _ROWS_PER_SLICE):
            part_signatures, part_sets = self._signatures(batch[start:start + _ROWS_PER_SLICE])
            signatures.append(part_signatures)
            sets.extend(part_sets)
        return np.concatenate(signatures), sets

    def _signatures(self, rows: list[dict]) -> tuple[np.ndarray, list[np.ndarray]]:
        hashes, starts = [], []
        seed = self.hash_seed
        for example in rows:
            text = "\n".join(example[f] for f in self.fields)
            starts.append(len(hashes))
            hashes.extend(xxhash.xxh3_64_intdigest(s.encode(), seed) & 0xFFFFFFFF
                          for s in shingles(text, self.ngram, self.unit))
        values = np.asarray(hashes, dtype=np.uint64)
        permuted = values[:, None] * self.a
        permuted += self.b
        permuted %= _PRIME
        sets = [np.unique(part) for part in np.split(values.astype(np.uint32), starts[1:])]
        return np.minimum.reduceat(permuted, np.asarray(starts), axis=0), sets

    def band_keys(self, signatures: np.ndarray) -> list[list[int]]:
        """One 64-bit key per band: the band's values folded by a polynomial (wrapping at 2^64)."""
        bands = signatures[:, : self.bands * self.rows].reshape(len(signatures), self.bands, self.rows)
        keys = np.zeros((len(signatures), self.bands), dtype=np.uint64)
        for column in range(self.rows):
            keys *= _FOLD
            keys += bands[:, :, column]
        return keys.tolist()

    def process(self, batch: list[dict], rejects: list[Reject]) -> list[dict]:
        if not batch:
            return batch
        kept = []
        signatures, sets = self.signatures(batch)
        for example, keys, shingle_set in zip(batch, self.band_keys(signatures), sets):
            match = self._best_match(keys, shingle_set)
            if match is None:
                self._index(keys, shingle_set, id_of(example))
                kept.append(example)
            else:
                other, similarity = match
                reason = f"near-duplicate of {other} (Jaccard {similarity:.2f} >= {self.threshold})"
                rejects.append(reject_for(self.stage_id, example, "near-duplicate", reason,
                                          {"kept": other, "similarity": round(similarity, 4)}))
        return kept

    def _best_match(self, keys: list[int], shingle_set: np.ndarray) -> tuple[str, float] | None:
        """The kept example most similar to this one, if at or above the threshold.

        LSH only proposes candidates; the decision uses the exact Jaccard of the
        two shingle sets, so an estimate's noise near the threshold cannot
        decide (recall is then limited only by the banding)."""
        candidates = {i for bucket, key in zip(self.buckets, keys) for i in bucket.get(key, ())}
        best = None
        for index in sorted(candidates):
            other = self.kept[index]
            common = len(np.intersect1d(other, shingle_set, assume_unique=True))
            similarity = common / (len(other) + len(shingle_set) - common)
            if similarity >= self.threshold and (best is None or similarity > best[1]):
                best = (self.kept_ids[index], similarity)
        return best

    def _index(self, keys: list[int], shingle_set: np.ndarray, example_id: str) -> None:
        index = len(self.kept)
        self.kept.append(shingle_set)
        self.kept_ids.append(example_id)
        for bucket, key in zip(self.buckets, keys):
            bucket.setdefault(key, []).append(index)
