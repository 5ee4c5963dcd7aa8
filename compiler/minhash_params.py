"""LSH banding for MinHash: how many bands of how many rows for a threshold.

Two rows land in a common bucket with probability 1 - (1 - s^r)^b at Jaccard
similarity s. Among the (b, r) with b * r <= num_perm, pick the one whose
curve best separates pairs below the threshold from pairs above it: the sum
of the false-positive area (s < t) and the false-negative area (s >= t), as
in the usual LSH analysis (Leskovec, Rajaraman and Ullman, ch. 3).
"""

from __future__ import annotations

import functools

_STEPS = 200


def _collision(s: float, bands: int, rows: int) -> float:
    return 1.0 - (1.0 - s**rows) ** bands


def _area(low: float, high: float, f) -> float:
    """Midpoint rule; smooth integrands, so a few hundred steps suffice."""
    width = (high - low) / _STEPS
    return sum(f(low + (i + 0.5) * width) for i in range(_STEPS)) * width


@functools.lru_cache(maxsize=256)
def optimal_bands(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows per band) for `threshold` with at most `num_perm` hashes."""
    best, best_error = (1, num_perm), float("inf")
    for bands in range(1, num_perm + 1):
        rows = num_perm // bands
        false_pos = _area(0.0, threshold, lambda s: _collision(s, bands, rows))
        false_neg = _area(threshold, 1.0, lambda s: 1.0 - _collision(s, bands, rows))
        error = false_pos + false_neg
        if error < best_error - 1e-12:
            best, best_error = (bands, rows), error
    return best
