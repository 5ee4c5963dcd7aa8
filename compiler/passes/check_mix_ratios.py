"""A mix states its amounts in one consistent way, and they add up.

A mix is either relative — shares (`50%`, summing to 100%) or weights (bare
numbers, normalised) of a final size — or absolute: counts (`1200 rows`) and
fractions of a source (`40% of source`). Shares outside (0, 100] are R210,
shares that do not sum to 100% R211, a mix of the two styles R212; weights
get a note (R213) showing the shares they normalise to.
"""

from __future__ import annotations

from ...dsl import ast
from ...dsl.diagnostics import DiagnosticSink, Label
from ..context import CheckContext

RELATIVE = ("share", "weight")
TOLERANCE = 1e-9


def check_mix_ratios(recipe: ast.Recipe, context: CheckContext, sink: DiagnosticSink) -> None:
    for mix in recipe.of_kind(ast.MixDecl):
        if not mix.entries:
            sink.report("R214", mix.name.span, f"mix `{mix.name.value}` draws from nothing",
                        label="no entries", hint="add an entry such as `my_template = 100%`")
            continue
        if _consistent(mix, sink):
            _check_amounts(mix, sink)


def _consistent(mix: ast.MixDecl, sink: DiagnosticSink) -> bool:
    kinds = [e.amount.kind for e in mix.entries]
    styles = {k if k in RELATIVE else "absolute" for k in kinds}
    if len(styles) == 1:
        return True
    first = mix.entries[0]
    other = next(e for e in mix.entries if _style(e) != _style(first))
    sink.report(
        "R212", other.amount.span,
        f"this mix mixes {_WORDS[_style(first)]} with {_WORDS[_style(other)]}",
        label=_ONE[_style(other)], secondary=[Label(first.amount.span, _ONE[_style(first)])],
        hint="state every entry the same way: all shares (`50%`), all weights (`3`), "
        "or counts and fractions (`1200 rows`, `40% of source`)",
    )
    return False


def _style(entry: ast.MixEntry) -> str:
    return entry.amount.kind if entry.amount.kind in RELATIVE else "absolute"


_WORDS = {"share": "shares", "weight": "weights", "absolute": "counts or fractions"}
_ONE = {"share": "a share", "weight": "a weight", "absolute": "a count or fraction"}


def _check_amounts(mix: ast.MixDecl, sink: DiagnosticSink) -> None:
    for entry in mix.entries:
        if entry.amount.kind in ("share", "fraction") and not 0 < entry.amount.value.value <= 100:
            sink.report("R210", entry.amount.span, "a percentage must lie in (0%, 100%]",
                        label=f"{entry.amount.value.text or entry.amount.value.value}",
                        hint="remove the entry instead of giving it 0%")
            return
    kind = mix.entries[0].amount.kind
    if kind == "share":
        _check_sum(mix, sink)
    elif kind == "weight" and all(e.amount.value.value > 0 for e in mix.entries):
        _note_weights(mix, sink)
    if kind not in RELATIVE and mix.size is not None:
        sink.report("W216", mix.size.span, "`size` has no effect on counts and fractions",
                    label="the entries already fix the size", hint="remove `size`, or use shares")


def _check_sum(mix: ast.MixDecl, sink: DiagnosticSink) -> None:
    total = sum(e.amount.value.value for e in mix.entries)
    if abs(total - 100) <= TOLERANCE:
        return
    sink.report(
        "R211", mix.name.span, f"the shares of mix `{mix.name.value}` sum to {_pct(total)}, not 100%",
        label=f"sums to {_pct(total)}",
        secondary=[Label(e.amount.span, "") for e in mix.entries],
        hint="make them sum to 100%, or write bare numbers to use them as weights",
    )


def _note_weights(mix: ast.MixDecl, sink: DiagnosticSink) -> None:
    temperature = mix.temperature.value if mix.temperature and mix.temperature.value > 0 else 1
    tempered = [e.amount.value.value ** (1 / temperature) for e in mix.entries]
    shares = ", ".join(f"{e.name.value} = {_pct(100 * w / sum(tempered))}" for e, w in zip(mix.entries, tempered))
    after = f" (after temperature {temperature})" if temperature != 1 else ""
    sink.report("R213", mix.name.span, f"weights are normalised{after}: {shares}",
                label="weights, not percentages", hint="write `%` after each number to state shares instead")


def _pct(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return f"{text}%"
