"""LSH banding for MinHash: how many bands of how many rows for a threshold.

Two rows land in a common bucket with probability 1 - (1 - s^r)^b at Jaccard
similarity s (Leskovec, Rajaraman and Ullman, ch. 3). The runtime checks every
candidate pair with the exact Jaccard, so banding only has to *propose* the
pairs: a false positive costs one comparison, a false negative is a missed
duplicate. So the rule is: the most selective banding (largest r, with
b = num_perm // r) that still proposes a pair right at the threshold with
probability at least `RECALL_AT_THRESHOLD`; pairs above the threshold are
proposed even more surely.
"""

from __future__ import annotations

import functools

RECALL_AT_THRESHOLD = 0.97


def collision(s: float, bands: int, rows: int) -> float:
    return 1.0 - (1.0 - s**rows) ** bands


@functools.lru_cache(maxsize=256)
def optimal_bands(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows per band) for `threshold` with at most `num_perm` hashes."""
    for rows in range(num_perm, 0, -1):
        bands = num_perm // rows
        if collision(threshold, bands, rows) >= RECALL_AT_THRESHOLD:
            return bands, rows
    return num_perm, 1
