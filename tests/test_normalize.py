"""Exact-dedup normalizers and the dedup key."""

from __future__ import annotations

import itertools
import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from xxhash import xxh3_128_digest

from recipekit.runtime.normalize import (
    CANONICAL_ORDER,
    canonical_order,
    dedup_key,
    make_normalizer,
    nfkc,
    punctuation,
    whitespace,
)

# Text with what the normalizers care about: ASCII controls and spaces, Unicode
# spaces, punctuation of several scripts, compatibility characters, surrogates.
SPECIAL = (
    " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2003\u200a\u200b\u2028\u2029\u202f\u3000"
    "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~¡¿«»—…‘’“”、。「」《》؟।\U00010100"
    "ﬁＦｕｌｌ①ⅫÅΣσςßİ\u0301e\ud800"
)
texts = st.text(alphabet=st.one_of(st.characters(), st.sampled_from(SPECIAL)), max_size=60)


def reference(names, s: str) -> str:
    """The normalizers composed the slow, obvious way, in the canonical order."""
    for name in CANONICAL_ORDER:
        if name in names:
            if name == "nfkc":
                s = unicodedata.normalize("NFKC", s)
            elif name == "lower":
                s = s.lower()
            elif name == "punctuation":
                s = "".join(c for c in s if not unicodedata.category(c).startswith("P"))
            else:
                s = " ".join(s.split())
    return s


# -- each normalizer ----------------------------------------------------------


def test_lower() -> None:
    lower = make_normalizer(["lower"])
    assert lower("Hello WORLD") == "hello world"
    assert lower("ÀÉÎ ΣΑΣ") == "àéî σας"  # final sigma
    assert lower("Straße") == "straße"  # lower, not casefold


def test_whitespace() -> None:
    assert whitespace("  a \t b\n\nc  ") == "a b c"
    assert whitespace("a\u00a0b\u3000c\u2003d\u202fe") == "a b c d e"  # NBSP, ideographic, em
    assert whitespace("a\x1fb\x1cc\x85d\u2028e") == "a b c d e"  # str.split() spaces
    assert whitespace("a\u200bb") == "a\u200bb"  # zero width space is not whitespace
    assert whitespace("") == "" and whitespace(" \n ") == ""
    clean = "already clean text, nothing to do"
    assert whitespace(clean) is clean


def test_nfkc() -> None:
    assert nfkc("ﬁnal ﬂow") == "final flow"  # ligatures
    assert nfkc("Ｆｕｌｌｗｉｄｔｈ １２３") == "Fullwidth 123"
    assert nfkc("① Ⅻ x²") == "1 XII x2"
    assert nfkc("e\u0301") == "é"  # composed
    assert nfkc("a\u00a0b") == "a b"  # NBSP becomes a space
    ascii_text = "plain ASCII"
    assert nfkc(ascii_text) is ascii_text


def test_punctuation() -> None:
    assert punctuation("Hello, world! (really?) 'yes' \"no\" a-b_c [x]{y} #1 @me 50%") == (
        "Hello world really yes no abc xy 1 me 50"
    )
    # symbols are not punctuation
    assert punctuation("$5 + 3 = <8> ^ ` | ~") == "$5 + 3 = <8> ^ ` | ~"
    assert punctuation("¿Qué? ¡Sí! «citation» — fin…") == "Qué Sí citation  fin"
    assert punctuation("日本語、テスト。「引用」《书名》") == "日本語テスト引用书名"
    assert punctuation("هل أنت بخير؟") == "هل أنت بخير"  # Arabic question mark
    assert punctuation("नमस्ते। धन्यवाद॥") == "नमस्ते धन्यवाद"  # danda
    assert punctuation("a\U00010100b") == "ab"  # Aegean word separator, outside the BMP
    assert punctuation("\ud800!") == "\ud800"  # a lone surrogate passes through


@settings(max_examples=500, deadline=None)
@given(texts)
@example("a  b")
@example("\x1fa")
def test_each_normalizer_matches_its_reference(s: str) -> None:
    for name in CANONICAL_ORDER:
        assert make_normalizer([name])(s) == reference([name], s)


# -- composition --------------------------------------------------------------


def test_order_is_canonical_whatever_the_declared_order() -> None:
    s = "  ＨＥＬＬＯ,\u00a0 ﬁne — World…!  "
    expected = reference(CANONICAL_ORDER, s)
    assert expected == "hello fine world"
    for perm in itertools.permutations(CANONICAL_ORDER):
        assert make_normalizer(list(perm))(s) == expected
    assert canonical_order(["whitespace", "lower", "whitespace"]) == ("lower", "whitespace")
    assert make_normalizer(["whitespace", "lower", "lower"])("A  B") == "a b"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(CANONICAL_ORDER), max_size=6), texts)
def test_any_combination_matches_the_reference(names, s: str) -> None:
    assert make_normalizer(names)(s) == reference(set(names), s)
    assert make_normalizer(list(reversed(names)))(s) == make_normalizer(names)(s)


def test_no_normalizer_is_the_identity() -> None:
    s = "  Keep Me  "
    assert make_normalizer([])(s) is s


def test_unknown_normalizer() -> None:
    with pytest.raises(ValueError, match="unknown normalizer.*'casefold'.*known: nfkc, lower"):
        make_normalizer(["lower", "casefold"])


def test_nfkc_before_lower_and_whitespace() -> None:
    # NFKC creates upper case and spaces that the later steps must see
    norm = make_normalizer(["whitespace", "lower", "nfkc"])
    assert norm("Ⅻ\u00a0\u00a0Ｘ") == "xii x"
    # punctuation before whitespace: deleting " - " leaves spaces to collapse
    assert make_normalizer(["whitespace", "punctuation"])("a - b") == "a b"


# -- the key --------------------------------------------------------------------


def test_key_format() -> None:
    norm = make_normalizer(["lower", "whitespace"])
    key = dedup_key(["  Hello\tWorld ", None, "OK"], norm)
    assert isinstance(key, bytes) and len(key) == 16
    # the documented layout: normalized values joined with U+001F, UTF-8, xxh3_128
    assert key == xxh3_128_digest(b"hello world\x1f\x1fok")
    assert dedup_key(["a"]) == xxh3_128_digest(b"a")


def test_key_equivalences() -> None:
    norm = make_normalizer(["lower", "whitespace"])
    a = dedup_key(["Write a poem.", "", "Roses  are red"], norm)
    assert dedup_key(["WRITE A POEM.", None, "roses are red\n"], norm) == a
    assert dedup_key(["Write a poem!", "", "Roses are red"], norm) != a
    # a value boundary is part of the key
    assert dedup_key(["ab", "c"], norm) != dedup_key(["a", "bc"], norm)
    assert dedup_key(["a b", "c"], norm) != dedup_key(["a", "b c"], norm)
    assert dedup_key(["", "x"], norm) != dedup_key(["x", ""], norm)


def test_key_is_injective_when_a_value_holds_the_separator() -> None:
    # without `whitespace` (which removes U+001F) a value can contain it
    assert dedup_key(["a\x1fb", "c"]) != dedup_key(["a", "b\x1fc"])
    assert dedup_key(["a\x1f", "b"]) != dedup_key(["a", "\x1fb"])
    assert dedup_key(["a\x1fb", "c"]) == dedup_key(["a\x1fb", "c"])


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.text(alphabet="ab\x1f,0123456789", max_size=6), min_size=1, max_size=3),
    st.lists(st.text(alphabet="ab\x1f,0123456789", max_size=6), min_size=1, max_size=3),
)
def test_key_collides_only_for_equal_values(xs, ys) -> None:
    if len(xs) == len(ys):
        assert (dedup_key(xs) == dedup_key(ys)) == (xs == ys)


def test_key_with_lone_surrogates_and_unicode() -> None:
    assert len(dedup_key(["\ud800 text"])) == 16
    norm = make_normalizer(["nfkc", "lower", "whitespace"])
    assert dedup_key(["ﬁne\u00a0ＷＯＲＫ"], norm) == dedup_key(["fine work"], norm)


def test_key_needs_values() -> None:
    with pytest.raises(ValueError):
        dedup_key([])
