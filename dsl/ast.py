"""The typed AST of a recipe: frozen attrs classes, every node with a span.

Spans are excluded from equality (`eq=False`), so two recipes that differ only
in layout compare equal: `parse(fmt(x)) == parse(x)` is a plain `==`. Fields
that only remember how something was written (a raw string, `1e3` for 1000)
are excluded the same way: they steer the formatter, not the meaning.
Node names are the words of the language: `SourceDecl` for `source`, and so on.
"""

from __future__ import annotations

from typing import Union

import attrs

from .source import Span

NO_SPAN = Span("<generated>", 0, 0)


def _span():
    return attrs.field(default=NO_SPAN, eq=False, repr=False, kw_only=True)


def _tuple():
    return attrs.field(default=(), converter=tuple)


# ------------------------------------------------------------------ values ----


@attrs.frozen
class Name:
    value: str
    span: Span = _span()


@attrs.frozen
class Str:
    value: str
    style: str = attrs.field(default="plain", eq=False)  # plain | raw | long
    span: Span = _span()


@attrs.frozen
class Number:
    value: int | float
    percent: bool = False
    text: str | None = attrs.field(default=None, eq=False)  # as written
    span: Span = _span()


@attrs.frozen
class Bool:
    value: bool
    span: Span = _span()


@attrs.frozen
class Range:
    low: Number
    high: Number
    span: Span = _span()


@attrs.frozen
class Option:
    """`key = value` inside a rule's `{ ... }` body."""

    key: Name
    value: Value
    span: Span = _span()


Scalar = Union[Name, Str, Number, Bool]
Value = Union[Scalar, Range, tuple]


# ------------------------------------------------------------------ recipe ----


@attrs.frozen
class RecipeMeta:
    name: Name
    seed: Number | None = None
    description: Str | None = None
    version: Str | None = None
    span: Span = _span()


# ----------------------------------------------------------------- sources ----


@attrs.frozen
class TypeRef:
    """`str`, `int?`, `list[str]`."""

    name: str
    optional: bool = False
    item: TypeRef | None = None
    span: Span = _span()


@attrs.frozen
class FieldPath:
    """Where a field is read from: `answers[0].text`; `None` steps are `[]`."""

    steps: tuple[str | int | None, ...] = _tuple()
    span: Span = _span()


@attrs.frozen
class FieldDecl:
    name: Name
    type: TypeRef
    path: FieldPath | None = None
    span: Span = _span()


@attrs.frozen
class LabelEntry:
    key: Scalar
    text: Str
    span: Span = _span()


@attrs.frozen
class LabelMap:
    """A verbalizer: `labels label { 0 = "negative", 1 = "positive" }`."""

    field: Name
    entries: tuple[LabelEntry, ...] = _tuple()
    span: Span = _span()


@attrs.frozen
class CostDecl:
    usd_per_hour: Number | None = None
    minutes_per_example: Number | None = None
    span: Span = _span()


@attrs.frozen
class SourceDecl:
    name: Name
    path: Str
    format: Name | None = None
    kind: Name | None = None
    explode: Name | None = None
    fields: tuple[FieldDecl, ...] = _tuple()
    labels: tuple[LabelMap, ...] = _tuple()
    cost: CostDecl | None = None
    allow_outside: Bool | None = None
    span: Span = _span()


# --------------------------------------------------------------- templates ----


@attrs.frozen
class FewShot:
    """`fewshot { count = 2, separator = "\\n\\n" }`: exemplars from the same source."""

    count: Number
    separator: Str | None = None
    span: Span = _span()


@attrs.frozen
class TemplateDecl:
    name: Name
    source: Name
    instruction: tuple[Str, ...] = _tuple()
    input: tuple[Str, ...] = _tuple()
    output: tuple[Str, ...] = _tuple()
    choose: Name | None = None
    fewshot: FewShot | None = None
    span: Span = _span()


# ------------------------------------------------------ paraphrase, expand ----


@attrs.frozen
class ParaphraseRule:
    """`"a" <-> "b" <-> "c"` (symmetric group) or `"a" -> "b"` (one way)."""

    phrases: tuple[Str, ...] = _tuple()
    symmetric: bool = False
    span: Span = _span()


@attrs.frozen
class ParaphraseDecl:
    name: Name
    rules: tuple[ParaphraseRule, ...] = _tuple()
    span: Span = _span()


@attrs.frozen
class ExpandDecl:
    name: Name
    source: Name
    paraphrase: Name | None = None
    variants: Number | None = None
    inputs: tuple[Str, ...] | Name | None = None
    input_field: Name | None = None
    span: Span = _span()


# ----------------------------------------------------------------- filters ----


@attrs.frozen
class LengthRule:
    """`length FIELD chars|words MIN..MAX`."""

    field: Name
    unit: Name
    bounds: Range
    span: Span = _span()


@attrs.frozen
class RegexRule:
    """`keep|drop FIELD matches "pattern"`."""

    action: Name
    field: Name
    pattern: Str
    span: Span = _span()


@attrs.frozen
class RequireRule:
    """`require FIELD` or `require (A, B)`: present and not blank."""

    fields: tuple[Name, ...] = _tuple()
    span: Span = _span()


@attrs.frozen
class ExactDedupRule:
    """`dedup exact on (A, B) normalize (lower, whitespace)`."""

    fields: tuple[Name, ...] = _tuple()
    normalize: tuple[Name, ...] = _tuple()
    span: Span = _span()


@attrs.frozen
class NearDedupRule:
    """`dedup near on FIELD jaccard >= 0.85 { num_perm = 128 }`."""

    fields: tuple[Name, ...]
    metric: Name
    threshold: Number
    options: tuple[Option, ...] = _tuple()
    span: Span = _span()


@attrs.frozen
class ScoreRule:
    """`score SCORER >= 0.4 { ... }`."""

    scorer: Name
    threshold: Number
    options: tuple[Option, ...] = _tuple()
    span: Span = _span()


@attrs.frozen
class AgreementRule:
    """`agreement >= 0.6 { method = fleiss }`, for multi-annotator sources."""

    threshold: Number
    options: tuple[Option, ...] = _tuple()
    span: Span = _span()


@attrs.frozen
class DecontaminateRule:
    """`decontaminate on (A, B) against EVAL { ngram = 13 }`: drop examples that share an
    n-word window with an evaluation source."""

    fields: tuple[Name, ...]
    against: Name
    options: tuple[Option, ...] = _tuple()
    span: Span = _span()


FilterRule = Union[
    LengthRule, RegexRule, RequireRule, ExactDedupRule, NearDedupRule, ScoreRule, AgreementRule,
    DecontaminateRule,
]


@attrs.frozen
class FilterDecl:
    name: Name
    rules: tuple[FilterRule, ...] = _tuple()
    ordered: Bool | None = None
    span: Span = _span()


# ------------------------------------------------------------ mix, output ----


@attrs.frozen
class Amount:
    """How much of an entry: `50%` share, `3` weight, `1200 rows`, `40% of source`."""

    kind: str  # share | weight | count | fraction
    value: Number
    span: Span = _span()


@attrs.frozen
class MixEntry:
    name: Name
    amount: Amount
    cap: Number | None = None
    span: Span = _span()


@attrs.frozen
class MixDecl:
    name: Name
    entries: tuple[MixEntry, ...] = _tuple()
    size: Number | None = None
    filter: Name | None = None
    temperature: Number | None = None
    on_short: Name | None = None
    max_epochs: Number | None = None
    max_verb_share: Number | None = None  # no leading verb above this share of the mix
    min_verb_diversity: Number | None = None  # normalized entropy of the verbs, at least
    balance: Name | None = None  # a source field whose values share the mix evenly (or up to max_share)
    max_share: Number | None = None
    span: Span = _span()


@attrs.frozen
class OutputDecl:
    name: Name
    path: Str
    mix: Name | None = None
    format: Name | None = None
    provenance: tuple[Name, ...] = _tuple()
    system: Str | None = None
    order: tuple[Name, ...] = _tuple()  # () or (random,): keyed shuffle; (quality, desc|asc)
    review: Number | None = None  # how many examples to sample for expert review
    span: Span = _span()


Decl = Union[SourceDecl, TemplateDecl, ParaphraseDecl, ExpandDecl, FilterDecl, MixDecl, OutputDecl]


@attrs.frozen
class Recipe:
    meta: RecipeMeta | None = None
    decls: tuple[Decl, ...] = _tuple()
    span: Span = _span()

    def of_kind(self, kind: type) -> list:
        return [d for d in self.decls if isinstance(d, kind)]
