"""Every number lies in its domain.

Similarities in (0, 1] (R201); ranges with 0 <= min <= max (R202); scores
and agreements in [0, 1] (R203); sizes, caps, temperatures, epochs, variants
and counts positive (R204); the seed a non-negative whole number (R205);
near-dedup options consistent with each other (R207), and an embedding
model one that recipekit knows (S006, S008).
"""

from __future__ import annotations

from ...dsl import ast
from ...dsl.diagnostics import DiagnosticSink
from ...dsl.vocabulary import EMBEDDING_MODELS, did_you_mean, one_of
from ..context import CheckContext


def check_thresholds(recipe: ast.Recipe, context: CheckContext, sink: DiagnosticSink) -> None:
    if recipe.meta is not None and recipe.meta.seed is not None:
        _seed(recipe.meta.seed, sink)
    for decl in recipe.decls:
        for number, what, integer in _positives(decl):
            _positive(number, what, integer, sink)
        if isinstance(decl, ast.FilterDecl):
            for rule in decl.rules:
                _rule(rule, sink)
        if isinstance(decl, ast.MixDecl):
            _diversity_targets(decl, sink)


def _seed(seed: ast.Number, sink: DiagnosticSink) -> None:
    if not isinstance(seed.value, int) or seed.value < 0 or seed.value >= 2**64:
        sink.report("R205", seed.span, "the seed must be a whole number from 0 to 2^64 - 1",
                    label="not a valid seed", hint="for example `seed = 42`")


def _positives(decl):
    """(number, what it is, must be whole) for every value that must be > 0."""
    if isinstance(decl, ast.MixDecl):
        yield decl.size, "a mix size", True
        yield decl.temperature, "a temperature", False
        yield decl.max_epochs, "`max_epochs`", False
        for entry in decl.entries:
            yield entry.cap, "a cap", True
            if entry.amount.kind in ("weight", "count"):
                yield entry.amount.value, f"a {entry.amount.kind}", entry.amount.kind == "count"
    elif isinstance(decl, ast.ExpandDecl):
        yield decl.variants, "the number of variants", True
    elif isinstance(decl, ast.TemplateDecl) and decl.fewshot is not None:
        yield decl.fewshot.count, "the number of exemplars", True
    elif isinstance(decl, ast.OutputDecl):
        yield decl.review, "the review sample size", True
    elif isinstance(decl, ast.SourceDecl) and decl.cost is not None:
        yield decl.cost.usd_per_hour, "a rate", False
        yield decl.cost.minutes_per_example, "a time per example", False


def _positive(number: ast.Number | None, what: str, integer: bool, sink: DiagnosticSink) -> None:
    if number is None:
        return
    if number.value <= 0 or (integer and not isinstance(number.value, int)):
        kind = "a positive whole number" if integer else "positive"
        sink.report("R204", number.span, f"{what} must be {kind}", label=f"{number.text or number.value}",
                    hint="remove the setting to use the default" if number.value <= 0 else "round it")


def _rule(rule, sink: DiagnosticSink) -> None:
    if isinstance(rule, ast.LengthRule):
        _range(rule.bounds, sink)
    elif isinstance(rule, ast.NearDedupRule):
        _unit_interval(rule.threshold, "a similarity threshold", "R201", sink, open_low=True)
        _near_options(rule, sink)
    elif isinstance(rule, ast.DecontaminateRule):
        for option in rule.options:
            value = option.value
            if not (isinstance(value, ast.Number) and isinstance(value.value, int) and value.value > 0):
                sink.report("R204", value.span, "`ngram` must be a positive whole number",
                            label="not a window size", hint="the usual window is 13 words")
    elif isinstance(rule, (ast.ScoreRule, ast.AgreementRule)):
        what = "a score threshold" if isinstance(rule, ast.ScoreRule) else "an agreement threshold"
        _unit_interval(rule.threshold, what, "R203", sink, open_low=False)


def _range(bounds: ast.Range, sink: DiagnosticSink) -> None:
    low, high = bounds.low.value, bounds.high.value
    if bounds.low.percent or bounds.high.percent or not all(isinstance(v, int) for v in (low, high)):
        sink.report("R202", bounds.span, "a length range is counted in whole characters or words",
                    label="not whole numbers", hint="for example `3..256`")
    elif low < 0 or low > high:
        why = "starts below 0" if low < 0 else f"is empty: {low} is more than {high}"
        sink.report("R202", bounds.span, f"this range {why}", label="min..max",
                    hint=f"write it as `{min(max(low, 0), high)}..{max(low, high)}`")


def _unit_interval(value: ast.Number, what: str, code: str, sink, *, open_low: bool) -> None:
    v = value.value
    if (v <= 0 if open_low else v < 0) or v > 1:
        domain = "(0, 1]" if open_low else "[0, 1]"
        sink.report(code, value.span, f"{what} must lie in {domain}", label=f"{value.text or value.value}",
                    hint="similarities and scores are fractions: 0.85, not 85")


def _near_options(rule: ast.NearDedupRule, sink: DiagnosticSink) -> None:
    options = {o.key.value: o.value for o in rule.options}
    for key in ("num_perm", "bands", "ngram"):
        value = options.get(key)
        if value is not None and not (isinstance(value, ast.Number) and isinstance(value.value, int) and value.value > 0):
            sink.report("R207", value.span, f"`{key}` must be a positive whole number", label="not valid here")
    perm, bands = options.get("num_perm"), options.get("bands")
    if all(isinstance(v, ast.Number) and isinstance(v.value, int) and v.value > 0 for v in (perm, bands)):
        if perm.value % bands.value:
            sink.report("R207", bands.span, f"{bands.value} bands do not divide {perm.value} permutations",
                        label="bands must divide num_perm",
                        hint=f"for example `bands = {_divisor_near(perm.value, bands.value)}`")
    unit = options.get("unit")
    if unit is not None and not (isinstance(unit, ast.Name) and unit.value in ("words", "chars")):
        sink.report("R207", unit.span, "`unit` is `words` or `chars`", label="not a unit")
    if rule.metric.value != "jaccard":
        for key in ("num_perm", "bands", "ngram", "unit", "seed"):  # MinHash's shingles and hashing
            if key in options:
                sink.report("R207", options[key].span, f"`{key}` applies to `jaccard` (MinHash) only",
                            label=f"ignored by `{rule.metric.value}`", hint=f"remove `{key}`")
    model = options.get("model")
    if model is not None and rule.metric.value != "cosine":
        sink.report("R207", model.span, "`model` applies to `cosine` (embeddings) only",
                    label=f"ignored by `{rule.metric.value}`", hint="remove `model`")
    elif model is not None:
        _embedding_model(model, sink)


def _embedding_model(model, sink: DiagnosticSink) -> None:
    """`model = "NAME"`, a model this recipekit knows (S006 for another kind of value, S008 for another name)."""
    example = f'for example `model = "{EMBEDDING_MODELS[0]}"`'
    if not isinstance(model, ast.Str):
        sink.report("S006", model.span, "`model` takes the name of an embedding model, as a string",
                    label="not a string", hint=example)
    elif model.value not in EMBEDDING_MODELS:
        sink.report("S008", model.span, f"`{model.value}` is not an embedding model recipekit knows",
                    label="unknown model", hint=did_you_mean(model.value, EMBEDDING_MODELS)
                    or f"the models recipekit knows: {one_of(EMBEDDING_MODELS)}")


def _diversity_targets(mix: ast.MixDecl, sink: DiagnosticSink) -> None:
    """A verb share in (0, 1]; a diversity (normalized entropy) in [0, 1]."""
    share, diversity = mix.max_verb_share, mix.min_verb_diversity
    for value, key in ((share, "max_verb_share"), (mix.max_share, "max_share")):
        if value is not None and not 0 < value.value <= 1:
            sink.report("R218", value.span, f"`{key}` is a fraction of the mix in (0, 1]",
                        label=f"{value.text or value.value}", hint=f"for example `{key} = 0.2`")
    if diversity is not None and not 0 <= diversity.value <= 1:
        sink.report("R218", diversity.span, "`min_verb_diversity` is a normalized entropy in [0, 1]",
                    label=f"{diversity.text or diversity.value}",
                    hint="1 means every verb equally frequent; 0.8 is a demanding target")


def _divisor_near(n: int, target: int) -> int:
    return min((d for d in range(1, n + 1) if n % d == 0), key=lambda d: abs(d - target))
