"""KeySet: a compact set of 16-byte keys that answers exactly like a Python set."""

from __future__ import annotations

import contextlib
import os
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recipekit.runtime import keyset as keyset_module
from recipekit.runtime.keyset import KeySet


@contextlib.contextmanager
def filter_min(n: int):
    """Give runs of n keys or more a prefix filter (normally from 16k keys)."""
    saved = keyset_module._FILTER_MIN
    keyset_module._FILTER_MIN = n
    try:
        yield
    finally:
        keyset_module._FILTER_MIN = saved


def tie_key(hi: int, lo: int) -> bytes:
    """A key from small numbers: many keys share their first 8 bytes (the hi column)."""
    return bytes([hi]) * 8 + bytes([lo]) * 8


# Keys from a tiny alphabet (duplicates, and distinct keys with equal hi: the slow
# paths) mixed with random ones (the fast paths).
keys = st.one_of(
    st.builds(tie_key, st.integers(0, 3), st.integers(0, 5)),
    st.binary(min_size=16, max_size=16),
    st.sampled_from([b"\0" * 16, b"\xff" * 16, b"\0" * 8 + b"\xff" * 8, b"\xff" * 8 + b"\0" * 8]),
)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("add"), keys),
        # batches under 16 keys go through add(); most of these use the numpy path
        st.tuples(st.just("batch"), st.lists(keys, min_size=0, max_size=80)),
        st.tuples(st.just("buffer"), st.lists(keys, min_size=0, max_size=80)),
    ),
    max_size=25,
)


def check_against_set(ops, run_size: int, merge_ratio: int) -> KeySet:
    ks = KeySet(run_size=run_size, merge_ratio=merge_ratio)
    model: set[bytes] = set()
    seen: list[bytes] = []
    for op, arg in ops:
        batch = [arg] if op == "add" else arg
        expected = []
        for key in batch:
            expected.append(key not in model)
            model.add(key)
        seen.extend(batch)
        if op == "add":
            assert [ks.add(arg)] == expected
        elif op == "batch":
            assert ks.add_batch(arg) == expected
        else:
            assert ks.add_batch(b"".join(arg)) == expected
        assert len(ks) == len(model)
        assert sum(ks.run_sizes) + ks.pending == len(model)
    for key in seen:
        assert key in ks
    for hi in range(4):
        for lo in range(6, 9):
            assert tie_key(hi, lo) not in ks
    return ks


@settings(max_examples=300, deadline=None)
@given(operations, st.sampled_from([1, 2, 3, 7, 1 << 16]), st.sampled_from([1, 2, 8]))
def test_agrees_with_a_python_set(ops, run_size, merge_ratio) -> None:
    check_against_set(ops, run_size, merge_ratio)


@settings(max_examples=200, deadline=None)
@given(operations, st.sampled_from([1, 3]), st.sampled_from([1, 2, 8]))
def test_agrees_with_a_python_set_with_filters(ops, run_size, merge_ratio) -> None:
    with filter_min(8):
        check_against_set(ops, run_size, merge_ratio)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.binary(min_size=16, max_size=16), min_size=1, max_size=400),
    st.data(),
)
def test_answers_do_not_depend_on_the_batch_split(distinct, data) -> None:
    # a stream with duplicates within and across batches
    stream = data.draw(st.lists(st.sampled_from(distinct), min_size=1, max_size=600))
    expected = []
    model: set[bytes] = set()
    for key in stream:
        expected.append(key not in model)
        model.add(key)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    ks = KeySet(run_size=data.draw(st.sampled_from([1, 5, 64])), merge_ratio=2)
    got: list[bool] = []
    with filter_min(16):
        for start, end in zip([0, *cuts], [*cuts, len(stream)]):
            got += ks.add_batch(stream[start:end])
    assert got == expected


def test_duplicates_inside_a_batch_only_the_first_is_new() -> None:
    a, b, c = os.urandom(16), os.urandom(16), os.urandom(16)
    ks = KeySet()
    batch = [a, b, a, c, b, a] * 5  # 30 keys: the vectorized path
    assert ks.add_batch(batch) == [True, True, False, True] + [False] * 26
    assert ks.add_batch([c, a, b] * 10) == [False] * 30
    assert ks.add(a) is False and len(ks) == 3


def test_keys_sharing_their_first_8_bytes_are_distinct() -> None:
    prefix = b"\x01" * 8
    first = [prefix + bytes([i]) * 8 for i in range(0, 40, 2)]
    second = [prefix + bytes([i]) * 8 for i in range(1, 41, 2)]
    ks = KeySet()
    assert ks.add_batch(first) == [True] * 20
    assert ks.add_batch(second + first) == [True] * 20 + [False] * 20
    assert ks.run_sizes == (40,)
    assert all(k in ks for k in first + second)
    assert prefix + b"\x63" * 8 not in ks


def test_runs_are_merged() -> None:
    ks = KeySet(run_size=4, merge_ratio=2)
    for i in range(1000):
        assert ks.add(i.to_bytes(16, "little"))
    sizes = ks.run_sizes
    assert sum(sizes) + ks.pending == 1000
    assert len(sizes) <= 10  # O(log n), not 250 runs of 4
    # each run is more than merge_ratio times larger than the next one
    assert all(older > 2 * newer for older, newer in zip(sizes, sizes[1:]))

    ks = KeySet(merge_ratio=8)
    for start in range(0, 100_000, 1000):
        ks.add_batch([os.urandom(16) for _ in range(1000)])
    sizes = ks.run_sizes
    assert sum(sizes) == len(ks) == 100_000
    assert len(sizes) <= 4
    assert all(older > 8 * newer for older, newer in zip(sizes, sizes[1:]))


def test_add_and_add_batch_mix() -> None:
    ks = KeySet(run_size=3)
    keys = [os.urandom(16) for _ in range(100)]
    assert [ks.add(k) for k in keys[:10]] == [True] * 10
    assert ks.pending > 0
    assert ks.add_batch(keys[5:50]) == [False] * 5 + [True] * 40
    assert ks.pending == 0  # add_batch froze the pending keys into a run
    assert [ks.add(k) for k in keys[45:55]] == [False] * 5 + [True] * 5
    assert len(ks) == 55


def test_memory_is_about_16_bytes_a_key() -> None:
    n = 200_000
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        ks = KeySet()
        for start in range(0, n, 8192):
            ks.add_batch(os.urandom(16 * min(8192, n - start)))
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(ks) == n
    assert ks.nbytes / n < 24
    assert 16 <= ks.nbytes / n <= 19  # the keys, and 1-2 bytes a key of filters
    assert held / n < 24  # what nbytes reports is what is held

    # single adds: the pending set (~100 bytes a key) stays a small share
    ks = KeySet()
    for _ in range(60_000):
        ks.add(os.urandom(16))
    assert ks.nbytes / len(ks) < 24


def test_bad_keys() -> None:
    ks = KeySet()
    with pytest.raises(ValueError):
        ks.add(b"short")
    with pytest.raises(TypeError):
        ks.add("sixteen chars!!!")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ks.add_batch([b"a" * 15, b"b" * 17] * 10)  # 32 bytes a pair, wrong keys
    with pytest.raises(ValueError):
        ks.add_batch(b"x" * 17)
    with pytest.raises(TypeError):
        ks.add_batch(["sixteen chars!!!"] * 20)  # type: ignore[list-item]
    assert len(ks) == 0
    assert "sixteen chars!!!" not in ks
    assert b"short" not in ks
    assert ks.add_batch([]) == []
    assert ks.add(bytearray(16)) is True
    assert bytes(16) in ks and memoryview(bytes(16)) in ks
