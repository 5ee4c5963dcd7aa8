"""The mixture solver: exact integer allocations, never overshooting."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from recipekit.runtime.mixing import allocate, largest_remainder


def mix(*entries, **settings_) -> dict:
    return {"entries": [dict(name=n, kind=k, value=v, cap=c) for n, k, v, c in entries],
            "size": None, "temperature": None, "on_short": "error", "max_epochs": None, **settings_}


def test_largest_remainder_sums_exactly_where_ceil_overshoots() -> None:
    # ceil(10 * 1/3) * 3 = 12; the remainder method gives exactly 10
    assert largest_remainder(10, [1, 1, 1]) == [4, 3, 3]
    assert largest_remainder(7, [0.5, 0.3, 0.2]) == [4, 2, 1]


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10**6), st.lists(st.floats(0.01, 100), min_size=1, max_size=12))
def test_largest_remainder_properties(total: int, weights: list[float]) -> None:
    counts = largest_remainder(total, weights)
    assert sum(counts) == total
    scale = sum(weights)
    for count, weight in zip(counts, weights):
        assert abs(count - total * weight / scale) < 1 + 1e-9


def test_shares_of_a_size() -> None:
    result = allocate(mix(("a", "share", 50, None), ("b", "share", 30, None), ("c", "share", 20, None),
                          size=1001), {"a": 9999, "b": 9999, "c": 9999})
    assert [e.target for e in result.entries] == [501, 300, 200]
    assert result.size == 1001 and result.feasible


def test_weights_are_normalised_and_tempered() -> None:
    plain = allocate(mix(("a", "weight", 3, None), ("b", "weight", 1, None), size=100), {"a": 500, "b": 500})
    assert [e.target for e in plain.entries] == [75, 25]
    hot = allocate(mix(("a", "weight", 4, None), ("b", "weight", 1, None), size=100, temperature=2),
                   {"a": 500, "b": 500})
    assert [e.target for e in hot.entries] == [67, 33]  # 4^(1/2) : 1 = 2 : 1


def test_without_size_the_mix_is_as_large_as_fits_without_repeats() -> None:
    result = allocate(mix(("a", "share", 50, None), ("b", "share", 50, None)), {"a": 300, "b": 120})
    assert [e.target for e in result.entries] == [120, 120]


def test_counts_fractions_and_caps() -> None:
    result = allocate(mix(("a", "count", 40, None), ("b", "fraction", 25, None), ("c", "count", 90, 50)),
                      {"a": 100, "b": 10, "c": 100})
    assert [e.target for e in result.entries] == [40, 2, 50]


def test_short_source_is_an_error_naming_the_numbers() -> None:
    result = allocate(mix(("dolly", "share", 50, None), ("b", "share", 50, None), size=10000),
                      {"dolly": 1562, "b": 9000})
    assert not result.feasible
    assert "`dolly` needs 5,000 rows but has 1,562 (3.2 epochs)" in result.problem


def test_repeat_within_max_epochs_and_beyond() -> None:
    settings_ = dict(size=10000, on_short="repeat", max_epochs=4)
    ok = allocate(mix(("a", "share", 50, None), ("b", "share", 50, None), **settings_), {"a": 1562, "b": 9000})
    assert ok.feasible and math.isclose(ok.entries[0].epochs, 5000 / 1562)
    settings_["max_epochs"] = 2
    too_many = allocate(mix(("a", "share", 50, None), ("b", "share", 50, None), **settings_), {"a": 1562, "b": 9000})
    assert "more than `max_epochs = 2`" in too_many.problem


def test_shrink_scales_the_whole_mix_down() -> None:
    result = allocate(mix(("a", "share", 50, None), ("b", "share", 50, None), size=10000, on_short="shrink"),
                      {"a": 1562, "b": 9000})
    assert result.feasible and [e.target for e in result.entries] == [1562, 1562]
