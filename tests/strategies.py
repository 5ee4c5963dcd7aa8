"""Hypothesis strategies for random valid recipe ASTs, built from the AST classes.

Only what the builder accepts is generated (see dsl/build_ast.py and
dsl/build_rules.py): option words from `vocabulary.OPTIONS`, rule options from
`RULE_OPTIONS`, field types from `TYPES` (list items not optional), field names
and verbalized fields declared once per source, list indices 0 or more, whole
numbers where the builder wants an integer, percentages only where an amount, a
range, a label key or a rule option allows one (never in thresholds). Spans are
left at their default (`NO_SPAN`); strings carry any unicode text, quotes,
backslashes, newlines and braces included, in all three styles.

`recipes()` is the entry point; the smaller strategies are there for tests
that want one kind of node.
"""

from __future__ import annotations

import re

from hypothesis import strategies as st

from recipekit.dsl import ast
from recipekit.dsl.vocabulary import ATTRIBUTES, OPTIONS, RULE_OPTIONS, TYPES

# ---------------------------------------------------------------- scalars ----

# `true` and `false` are read as booleans where a boolean may stand (label keys,
# `provenance = true`), so no generated name is one of them.
_NAME_RE = r"[A-Za-z_][A-Za-z0-9_]{0,7}"
name_texts = st.from_regex(_NAME_RE, fullmatch=True).filter(lambda s: s not in ("true", "false"))


def names(exclude: tuple[str, ...] = ()) -> st.SearchStrategy[ast.Name]:
    return name_texts.filter(lambda s: s not in exclude).map(ast.Name)


def words(options: tuple[str, ...]) -> st.SearchStrategy[ast.Name]:
    return st.sampled_from(options).map(ast.Name)


_TRICKY = '"\\\n\r\t{}[]()#=,;:.%<>-?\'`\0\x7f\x85\u2028\ufeffé中😀'
string_values = st.text(
    alphabet=st.one_of(st.characters(), st.sampled_from(_TRICKY)), max_size=24
)
strings = st.builds(ast.Str, string_values, st.sampled_from(("plain", "raw", "long")))

# Numbers as the lexer reads them (`007`, `1e-3`, `2.50`), remembered as
# written, and plain Python values with no text (the formatter prints repr).
_NUMBER_TEXT = r"-?[0-9]{1,4}(\.[0-9]{1,3})?([eE][+-]?[0-9]{1,2})?"
_INT_TEXT = r"-?[0-9]{1,6}"


def _number_from_text(text: str, percent: bool) -> ast.Number:
    value: int | float = float(text) if re.search(r"[.eE]", text) else int(text)
    return ast.Number(value, percent, text + ("%" if percent else ""))


def integers() -> st.SearchStrategy[ast.Number]:
    as_written = st.from_regex(_INT_TEXT, fullmatch=True).map(lambda t: _number_from_text(t, False))
    return st.one_of(st.integers().map(ast.Number), as_written)


def numbers(percent: bool | None = False) -> st.SearchStrategy[ast.Number]:
    """Any number; `percent`: True (only `50%`), False (never), None (either)."""
    flags = st.booleans() if percent is None else st.just(percent)
    values = st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False))
    plain = st.builds(ast.Number, values, flags)
    texts = st.from_regex(_NUMBER_TEXT, fullmatch=True)
    as_written = st.builds(_number_from_text, texts, flags)
    return st.one_of(plain, as_written)


booleans = st.booleans().map(ast.Bool)


def ranges() -> st.SearchStrategy[ast.Range]:
    return st.builds(ast.Range, numbers(None), numbers(None))


def optional(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(st.none(), strategy)


def tuples(strategy: st.SearchStrategy, min_size: int = 0, max_size: int = 3):
    return st.lists(strategy, min_size=min_size, max_size=max_size).map(tuple)


def unique_tuples(strategy: st.SearchStrategy, max_size: int = 3):
    """Nodes with distinct `.name` (or `.field`): a schema declares a field once."""
    key = lambda node: getattr(node, "name", None) or node.field  # noqa: E731
    return st.lists(strategy, max_size=max_size, unique_by=lambda n: key(n).value).map(tuple)


# ----------------------------------------------------------------- recipe ----

metas = st.builds(
    ast.RecipeMeta, names(), optional(integers()), optional(strings), optional(strings)
)

# ---------------------------------------------------------------- sources ----


def type_refs(depth: int = 2, optional_ok: bool = True) -> st.SearchStrategy[ast.TypeRef]:
    """`str`, `int?`, `list[str]?`; the items of a list are never optional."""
    flags = st.booleans() if optional_ok else st.just(False)
    simple = st.builds(ast.TypeRef, st.sampled_from([t for t in TYPES if t != "list"]), flags)
    if depth == 0:
        return simple
    listed = st.builds(
        lambda item, opt: ast.TypeRef("list", opt, item), type_refs(depth - 1, False), flags
    )
    return st.one_of(simple, listed)


_steps = st.one_of(name_texts, st.integers(0, 10**6), st.none())
field_paths = st.builds(
    lambda first, rest: ast.FieldPath((first, *rest)), name_texts, st.lists(_steps, max_size=4)
)
field_decls = st.builds(ast.FieldDecl, names(), type_refs(), optional(field_paths))

label_keys = st.one_of(names(), strings, numbers(None), booleans)
label_entries = st.builds(ast.LabelEntry, label_keys, strings)
label_maps = st.builds(ast.LabelMap, names(), tuples(label_entries))
costs = st.builds(ast.CostDecl, optional(numbers()), optional(numbers()))

sources = st.builds(
    ast.SourceDecl,
    names(),
    strings,
    format=optional(words(OPTIONS["format"])),
    kind=optional(words(OPTIONS["kind"])),
    explode=optional(names()),
    fields=unique_tuples(field_decls, max_size=4),
    labels=unique_tuples(label_maps, max_size=2),
    cost=optional(costs),
    allow_outside=optional(booleans),
)

# -------------------------------------------------------------- templates ----

fewshots = st.builds(ast.FewShot, integers(), optional(strings))
templates = st.builds(
    ast.TemplateDecl,
    names(),
    names(),
    tuples(strings, 1),
    tuples(strings),
    tuples(strings, 1),
    choose=optional(words(OPTIONS["choose"])),
    fewshot=optional(fewshots),
)

# ----------------------------------------------------- paraphrase, expand ----

paraphrase_rules = st.builds(ast.ParaphraseRule, tuples(strings, 2, 4), st.booleans())
paraphrases = st.builds(ast.ParaphraseDecl, names(), tuples(paraphrase_rules))
expands = st.builds(
    ast.ExpandDecl,
    names(),
    names(),
    paraphrase=optional(names()),
    variants=optional(integers()),
    inputs=st.one_of(st.none(), names(), tuples(strings, 1)),
    input_field=optional(names()),
)

# ---------------------------------------------------------------- filters ----

field_lists = tuples(names(), 1)
option_values = st.one_of(names(), strings, numbers(None), ranges())


def options(rule: str) -> st.SearchStrategy[tuple[ast.Option, ...]]:
    return tuples(st.builds(ast.Option, words(RULE_OPTIONS[rule]), option_values))


filter_rules = st.one_of(
    st.builds(ast.LengthRule, names(), words(OPTIONS["length_unit"]), ranges()),
    st.builds(ast.RegexRule, words(OPTIONS["regex_action"]), names(), strings),
    st.builds(ast.RequireRule, field_lists),
    st.builds(ast.ExactDedupRule, field_lists, tuples(words(OPTIONS["normalize"]))),
    st.builds(ast.NearDedupRule, field_lists, words(OPTIONS["near_metric"]), numbers(), options("near")),
    st.builds(ast.ScoreRule, names(), numbers(), options("score")),
    st.builds(ast.AgreementRule, numbers(), options("agreement")),
    st.builds(ast.DecontaminateRule, field_lists, names(), options("decontaminate")),
)
filters = st.builds(ast.FilterDecl, names(), tuples(filter_rules, max_size=5), optional(booleans))

# ------------------------------------------------------------ mix, output ----

amounts = st.one_of(
    st.builds(ast.Amount, st.just("share"), numbers(True)),
    st.builds(ast.Amount, st.just("weight"), numbers()),
    st.builds(ast.Amount, st.just("count"), numbers()),
    st.builds(ast.Amount, st.just("fraction"), numbers(True)),
)
# an entry named like a setting (`size = 3`) would be read as that setting
mix_entries = st.builds(ast.MixEntry, names(exclude=ATTRIBUTES["mix"]), amounts, optional(numbers()))
mixes = st.builds(
    ast.MixDecl,
    names(),
    tuples(mix_entries),
    size=optional(integers()),
    filter=optional(names()),
    temperature=optional(numbers()),
    on_short=optional(words(OPTIONS["on_short"])),
    max_epochs=optional(numbers()),
    max_verb_share=optional(numbers()),
    min_verb_diversity=optional(numbers()),
    balance=optional(names()),
    max_share=optional(numbers()),
)
outputs = st.builds(
    ast.OutputDecl,
    names(),
    strings,
    optional(names()),
    format=optional(words(OPTIONS["output_format"])),
    provenance=st.one_of(
        tuples(words(OPTIONS["provenance"]), max_size=4),
        st.just(tuple(ast.Name(w) for w in OPTIONS["provenance"])),
    ),
    system=optional(strings),
    order=st.sampled_from([(), (ast.Name("quality"), ast.Name("desc")), (ast.Name("quality"), ast.Name("asc"))]),
    review=optional(integers()),
)

declarations = st.one_of(sources, templates, paraphrases, expands, filters, mixes, outputs)


def recipes(max_decls: int = 5) -> st.SearchStrategy[ast.Recipe]:
    """A whole recipe: maybe a `recipe` block, at least one declaration."""
    return st.builds(ast.Recipe, optional(metas), tuples(declarations, 1, max_decls))
