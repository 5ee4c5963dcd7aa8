"""Normalizers for exact dedup, and the dedup key.

A `dedup exact` rule names the normalizers to apply before two examples are
compared, e.g. ``normalize lower, whitespace``. There are four:

``nfkc``
    Unicode NFKC (`unicodedata.normalize("NFKC", s)`): ligatures (``ﬁ`` → ``fi``),
    fullwidth forms (``Ｆｕｌｌ`` → ``Full``), compatibility spaces, superscripts.
    Skipped, at no cost, for ASCII strings (they are already NFKC).
``lower``
    `str.lower`. `str.casefold` would also fold ``ß`` to ``ss`` and ``ς`` to
    ``σ``; measured on 300-character strings it costs the same on ASCII text but
    ~20% more on other text, so `lower` it is.
``punctuation``
    Deletes every character of a Unicode punctuation category (``P*``: Pc, Pd,
    Ps, Pe, Pi, Pf, Po), in every script: ``¡¿«»、。「」—…`` and, in ASCII,
    ``!"#%&'()*,-./:;?@[\\]_{}``. Symbols (``S*``: ``$+<=>^`|~``, currency,
    math) are not punctuation and stay. The characters are those of the running
    Python's Unicode database (`UNICODE_VERSION`).
``whitespace``
    Collapses every run of Unicode whitespace (what `str.split()` splits on:
    space, tab, newlines, ``\\x1c``–``\\x1f``, NBSP, the Zs spaces, U+2028/9)
    to one space and strips both ends: ``" ".join(s.split())``. Zero-width
    characters (U+200B, category Cf) are not whitespace.

**The order is canonical.** Whatever the order the recipe lists them in, they
apply as ``nfkc, lower, punctuation, whitespace`` (`CANONICAL_ORDER`), so the
key depends on the *set* of normalizers only: ``normalize whitespace, lower``
and ``normalize lower, whitespace`` give the same keys. The order is the one
where each step cannot undo an earlier one: NFKC first, because it can create
upper case (``Ⅻ`` → ``XII``), punctuation (``…`` → ``...``, ``！`` → ``!``) and
spaces (NBSP → space); punctuation before whitespace, because deleting ``" - "``
leaves two spaces to collapse.

`dedup_key(values, normalize)` is the 16-byte xxh3_128 digest (big-endian, as
`xxhash.xxh3_128_digest` gives it) of the normalized field values joined with
U+001F, UTF-8 encoded (lone surrogates pass through as ``surrogatepass``
bytes). A missing value (`None`) counts as the empty string: a row whose
optional ``input`` is absent and one whose ``input`` is ``""`` are duplicates.
The key is injective on the normalized values: when a normalized value itself
contains U+001F (possible only without ``whitespace``, which removes it), the
lengths of the values are appended after one more separator, so that
``("a\\x1fb", "c")`` and ``("a", "b\\x1fc")`` still get different keys.

Keys depend on the Unicode database of the Python that computes them (NFKC,
`lower` and the punctuation set all come from `unicodedata`); a manifest that
records keys or dedup counts should record `UNICODE_VERSION` too.
"""

from __future__ import annotations

import functools
import sys
import unicodedata
from typing import Callable, Iterable, Sequence

from xxhash import xxh3_128_digest

__all__ = [
    "CANONICAL_ORDER",
    "KEY_SEPARATOR",
    "UNICODE_VERSION",
    "canonical_order",
    "dedup_key",
    "make_normalizer",
]

Normalizer = Callable[[str], str]

CANONICAL_ORDER: tuple[str, ...] = ("nfkc", "lower", "punctuation", "whitespace")
KEY_SEPARATOR = "\x1f"
UNICODE_VERSION: str = unicodedata.unidata_version

_NFKC = unicodedata.normalize


def nfkc(s: str) -> str:
    """Unicode NFKC; ASCII strings are returned as they are."""
    return s if s.isascii() else _NFKC("NFKC", s)


# The ASCII whitespace characters other than the space that str.split() splits on.
_ASCII_SPACE_LIKE = b"\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f"


def whitespace(s: str) -> str:
    """``" ".join(s.split())``, with a fast exit for ASCII text that is already clean.

    The exit (ASCII, no newline, tab or other space-like control, no double
    space, no space at either end) skips splitting the text into words, which
    is most of the cost. On bench/gen_rows.py fields (85% clean) it is ~30%
    faster on the clean ones, ~5% slower on the others, 15-20% faster overall.
    """
    if (
        s.isascii()
        and "\n" not in s  # the most common reason to split, found fastest
        and "  " not in s
        and s[:1] != " "
        and s[-1:] != " "
        and len(s.encode().translate(None, _ASCII_SPACE_LIKE)) == len(s)
    ):
        return s
    return " ".join(s.split())


@functools.cache
def _punctuation_tables() -> tuple[bytes, frozenset[str]]:
    """(the ASCII punctuation as bytes to delete, the other punctuation characters).

    Built on first use (a scan of all code points, ~0.1 s) rather than at import.
    """
    category = unicodedata.category
    chars = [c for c in map(chr, range(sys.maxunicode + 1)) if category(c)[0] == "P"]
    ascii_ = "".join(c for c in chars if c < "\x80").encode("ascii")
    return ascii_, frozenset(c for c in chars if c >= "\x80")


def punctuation(s: str) -> str:
    """Delete the Unicode punctuation characters (categories P*)."""
    ascii_punct, other_punct = _punctuation_tables()
    if s.isascii():
        # bytes.translate with a delete set is a table lookup per byte,
        # ~4x faster than str.translate with a mapping
        return s.encode().translate(None, ascii_punct).decode("ascii")
    # ASCII bytes never occur inside a multi-byte UTF-8 sequence, so deleting the
    # ASCII punctuation bytes of the encoded text is safe; the other punctuation
    # is then deleted character by character, only the ones that occur.
    s = s.encode("utf-8", "surrogatepass").translate(None, ascii_punct)
    s = s.decode("utf-8", "surrogatepass")
    if not s.isascii():
        for c in other_punct.intersection(s):
            s = s.replace(c, "")
    return s


_STEPS: dict[str, Normalizer] = {
    "nfkc": nfkc,
    "lower": str.lower,
    "punctuation": punctuation,
    "whitespace": whitespace,
}


def canonical_order(names: Iterable[str]) -> tuple[str, ...]:
    """The names, deduplicated, in the order they apply (`CANONICAL_ORDER`).

    Raises ValueError for a name that is not a normalizer.
    """
    names = list(names)
    unknown = sorted(set(names) - set(CANONICAL_ORDER))
    if unknown:
        raise ValueError(
            f"unknown normalizer(s) {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(CANONICAL_ORDER)}"
        )
    return tuple(name for name in CANONICAL_ORDER if name in names)


def _identity(s: str) -> str:
    return s


def _compose(first: Normalizer, then: Normalizer) -> Normalizer:
    return lambda s: then(first(s))


def make_normalizer(names: Iterable[str]) -> Normalizer:
    """One function applying the named normalizers in the canonical order.

    The declared order and repetitions do not matter (see the module docstring).
    The steps are composed once into nested closures: a call runs no loop over
    the names. ``[]`` gives the identity.
    """
    steps = [_STEPS[name] for name in canonical_order(names)]
    if not steps:
        return _identity
    fn = steps[0]
    for step in steps[1:]:
        fn = _compose(fn, step)
    return fn


def _encode(text: str) -> bytes:
    try:
        return text.encode()
    except UnicodeEncodeError:  # lone surrogates, e.g. from "\ud800" in JSON
        return text.encode("utf-8", "surrogatepass")


def dedup_key(values: Sequence[str | None], normalize: Normalizer = _identity) -> bytes:
    """The 16-byte xxh3_128 key of the normalized values (None counts as "").

    ``normalize`` is applied to each value separately (a function from
    `make_normalizer`); the results are joined with U+001F. When a normalized
    value contains U+001F itself, the lengths of the values are appended (see
    the module docstring), which keeps the key injective for a given number
    of values.
    """
    if not values:
        raise ValueError("a dedup key needs at least one value")
    parts = ["" if v is None else normalize(v) for v in values]
    text = KEY_SEPARATOR.join(parts)
    if text.count(KEY_SEPARATOR) != len(parts) - 1:
        text += KEY_SEPARATOR + ",".join([str(len(p)) for p in parts])
    return xxh3_128_digest(_encode(text))
