"""Lower a checked recipe to the plan: a DAG of stages any engine can run.

Stage ids are stable names built from the recipe's names (`read:sst2`,
`render:sst2_sentiment`, `filter:train/clean/0`, `mix:train`, `write:train`),
so the same recipe always gives the same plan, and a plan diff reads like the
recipe diff. One `lower_<node>` function per declaration kind. Lowering runs
only on a recipe without errors; anything unexpected here is a compiler bug.
"""

from __future__ import annotations

from ..dsl import ast
from ..dsl.vocabulary import EMBEDDING_MODELS
from .minhash_params import optimal_bands
from .passes.order_filters import cost_order
from .passes.resolve_paths import infer_format
from .placeholders import Placeholder, parse_template

PLAN_VERSION = "1.0"
DEFAULT_SEED = 0
NEAR_DEFAULTS = {"num_perm": 128, "ngram": 3, "unit": "words"}
DECONTAMINATION_NGRAM = 13  # words, as GPT-3 and NeMo Curator use
# Fields every example has, so that a source can be mixed without a template.
_IDENTITY = {"instruction": "{instruction}", "input": "{input?}", "output": "{output}"}


class Lowering:
    def __init__(self, recipe: ast.Recipe) -> None:
        self.recipe = recipe
        self.decls = {d.name.value: d for d in recipe.decls if not isinstance(d, ast.OutputDecl)}
        self.stages: dict[str, dict] = {}
        # the source fields each entry must carry to its mixes (`balance = FIELD`)
        self.carry: dict[str, list[str]] = {}
        for mix in recipe.of_kind(ast.MixDecl):
            for entry in mix.entries:
                fields = self.carry.setdefault(entry.name.value, [])
                for name in self.carried_by(mix):
                    if name not in fields:
                        fields.append(name)

    def carried_by(self, mix: ast.MixDecl) -> list[str]:
        """Source fields a mix needs on its examples: `balance`, and `agreement`'s item,
        annotator and label."""
        names = [mix.balance.value] if mix.balance else []
        filter_decl = self.decls.get(mix.filter.value) if mix.filter else None
        for rule in filter_decl.rules if isinstance(filter_decl, ast.FilterDecl) else ():
            if isinstance(rule, ast.AgreementRule):
                options = {o.key.value: o.value for o in rule.options}
                names += [options[k].value for k in ("item", "annotator", "label")
                          if isinstance(options.get(k), ast.Name)]
        return names

    def add(self, stage_id: str, op: str, inputs: list[str], params: dict) -> str:
        self.stages.setdefault(stage_id, {"id": stage_id, "op": op, "inputs": inputs, "params": params})
        return stage_id

    def run(self) -> list[dict]:
        for output in self.recipe.of_kind(ast.OutputDecl):
            self.lower_output(output)
        return list(self.stages.values())

    # -- sources and what draws from them ------------------------------------

    def lower_source(self, source: ast.SourceDecl) -> str:
        return self.add(f"read:{source.name.value}", "read", [], {
            "path": source.path.value,
            "format": source.format.value if source.format else infer_format(source.path.value),
            "kind": source.kind.value if source.kind else "dataset",
            "explode": source.explode.value if source.explode else None,
            "fields": [lower_field(f) for f in source.fields],
            "cost": lower_cost(source.cost),
        })

    def lower_entry(self, name: str) -> str:
        decl = self.decls[name]
        if isinstance(decl, ast.TemplateDecl):
            return self.lower_template(decl)
        if isinstance(decl, ast.ExpandDecl):
            return self.lower_expand(decl)
        read = self.lower_source(decl)
        declared = {f.name.value for f in decl.fields}
        parts = {part: [ast.Str(text)] for part, text in _IDENTITY.items() if part in declared}
        parts.setdefault("input", [])
        params = render_params(parts, None, None, decl)
        return self.add(f"render:{name}", "render", [read], {**params, "carry": self.carry.get(name, [])})

    def lower_template(self, template: ast.TemplateDecl) -> str:
        source = self.decls[template.source.value]
        read = self.lower_source(source)
        parts = {"instruction": template.instruction, "input": template.input, "output": template.output}
        params = render_params(parts, template.choose, template.fewshot, source)
        params["carry"] = self.carry.get(template.name.value, [])
        return self.add(f"render:{template.name.value}", "render", [read], params)

    def lower_expand(self, expand: ast.ExpandDecl) -> str:
        read = self.lower_source(self.decls[expand.source.value])
        upstream = read
        if isinstance(expand.inputs, ast.Name):
            upstream = self.lower_source(self.decls[expand.inputs.value])
        name = expand.name.value
        rules = self.decls[expand.paraphrase.value].rules if expand.paraphrase else ()
        return self.add(f"expand:{name}", "expand", [read] + ([upstream] if upstream != read else []), {
            "variants": expand.variants.value if expand.variants else 1,
            "rules": [lower_paraphrase_rule(r) for r in rules],
            "inputs": [s.value for s in expand.inputs] if isinstance(expand.inputs, tuple) else None,
            "input_field": expand.input_field.value if expand.input_field else None,
            "carry": self.carry.get(name, []),
        })

    # -- mixes and outputs ---------------------------------------------------

    def lower_mix(self, mix: ast.MixDecl) -> str:
        name = mix.name.value
        upstream = [self.lower_entry(e.name.value) for e in mix.entries]
        last = self.add(f"union:{name}", "union", upstream, {"entries": [e.name.value for e in mix.entries]})
        if mix.filter is not None:
            last = self.lower_filter(self.decls[mix.filter.value], name, last)
        return self.add(f"mix:{name}", "mix", [last], lower_mix_params(mix))

    def lower_filter(self, decl: ast.FilterDecl, mix_name: str, upstream: str) -> str:
        ordered = decl.ordered is not None and decl.ordered.value
        rules = decl.rules if ordered else cost_order(decl.rules)
        for index, rule in enumerate(rules):
            op, params = lower_rule(rule)
            inputs = [upstream]
            if isinstance(rule, ast.DecontaminateRule):  # the evaluation set is read like a source
                inputs.append(self.lower_source(self.decls[rule.against.value]))
            upstream = self.add(f"{op}:{mix_name}/{decl.name.value}/{index}", op, inputs, params)
        return upstream

    def lower_output(self, output: ast.OutputDecl) -> str:
        mix = self.decls[(output.mix or output.name).value]
        last = self.lower_mix(mix)
        return self.add(f"write:{output.name.value}", "write", [last], {
            "path": output.path.value,
            "format": output.format.value if output.format else "alpaca",
            "provenance": [p.value for p in output.provenance],
            "system": output.system.value if output.system else None,
            "order": {"by": "quality", "descending": output.order[1].value == "desc"} if output.order
            else {"by": "random", "descending": False},
            "review": _num(output.review),
        })


# ------------------------------------------------------------- parameters ----


def lower_field(field: ast.FieldDecl) -> dict:
    path = list(field.path.steps) if field.path else [field.name.value]
    return {"name": field.name.value, "type": lower_type(field.type), "optional": field.type.optional,
            "path": path}


def lower_type(ref: ast.TypeRef) -> str:
    return f"list[{lower_type(ref.item)}]" if ref.item is not None else ref.name


def lower_cost(cost: ast.CostDecl | None) -> dict | None:
    if cost is None:
        return None
    return {"usd_per_hour": _num(cost.usd_per_hour), "minutes_per_example": _num(cost.minutes_per_example)}


def render_params(parts: dict, choose, fewshot, source: ast.SourceDecl) -> dict:
    return {
        **{part: [lower_template_text(t.value) for t in texts] for part, texts in parts.items()},
        "choose": choose.value if choose else "random",
        "labels": {m.field.value: [[_scalar(e.key), e.text.value] for e in m.entries] for m in source.labels},
        "fewshot": {"count": fewshot.count.value, "separator": fewshot.separator.value
                    if fewshot.separator else "\n\n"} if fewshot else None,
    }


def lower_template_text(text: str) -> list:
    """A template as segments: literal strings and `{"field", "optional", "formatters"}`."""
    segments, _ = parse_template(text)
    return [s if isinstance(s, str) else
            {"field": s.field, "optional": s.optional, "formatters": list(s.formatters)}
            for s in segments if isinstance(s, (str, Placeholder))]


def lower_paraphrase_rule(rule: ast.ParaphraseRule) -> dict:
    return {"phrases": [p.value for p in rule.phrases], "symmetric": rule.symmetric}


def lower_rule(rule) -> tuple[str, dict]:
    if isinstance(rule, ast.LengthRule):
        return "filter.length", {"field": rule.field.value, "unit": rule.unit.value,
                                 "min": rule.bounds.low.value, "max": rule.bounds.high.value}
    if isinstance(rule, ast.RegexRule):
        return "filter.regex", {"field": rule.field.value, "action": rule.action.value,
                                "pattern": rule.pattern.value, "engine": "re2"}
    if isinstance(rule, ast.RequireRule):
        return "filter.required", {"fields": [f.value for f in rule.fields]}
    if isinstance(rule, ast.ExactDedupRule):
        return "dedup.exact", {"fields": [f.value for f in rule.fields],
                               "normalize": [n.value for n in rule.normalize], "hash": "xxh3_128"}
    if isinstance(rule, ast.NearDedupRule):
        return "dedup.near", lower_near(rule)
    if isinstance(rule, ast.DecontaminateRule):
        return "decontaminate", {"fields": [f.value for f in rule.fields], "against": rule.against.value,
                                 "ngram": _options(rule.options).get("ngram", DECONTAMINATION_NGRAM)}
    if isinstance(rule, ast.ScoreRule):
        return "score", {"scorer": rule.scorer.value, "threshold": _fraction(rule.threshold),
                         "options": _options(rule.options)}
    return "agreement", {"threshold": _fraction(rule.threshold), "options": _options(rule.options)}


def lower_near(rule: ast.NearDedupRule) -> dict:
    options = _options(rule.options)
    params = {"fields": [f.value for f in rule.fields], "metric": rule.metric.value,
              "threshold": _fraction(rule.threshold)}
    if rule.metric.value == "jaccard":
        num_perm = options.get("num_perm", NEAR_DEFAULTS["num_perm"])
        bands = options.get("bands")
        bands, rows = (bands, num_perm // bands) if bands else optimal_bands(params["threshold"], num_perm)
        params.update(num_perm=num_perm, bands=bands, rows=rows)
    params["ngram"] = options.get("ngram", NEAR_DEFAULTS["ngram"])
    params["unit"] = options.get("unit", NEAR_DEFAULTS["unit"])
    if rule.metric.value == "cosine":  # the plan names the model, default or not
        params["model"] = options.get("model", EMBEDDING_MODELS[0])
    if "seed" in options:
        params["seed"] = options["seed"]
    return params


def lower_mix_params(mix: ast.MixDecl) -> dict:
    return {
        "entries": [{"name": e.name.value, "kind": e.amount.kind, "value": _num(e.amount.value),
                     "cap": _num(e.cap)} for e in mix.entries],
        "size": _num(mix.size),
        "temperature": _num(mix.temperature),
        "on_short": mix.on_short.value if mix.on_short else "error",
        "max_epochs": _num(mix.max_epochs),
        "max_verb_share": _num(mix.max_verb_share),
        "min_verb_diversity": _num(mix.min_verb_diversity),
        "balance": {"field": mix.balance.value, "max_share": _num(mix.max_share)} if mix.balance else None,
    }


def _options(options: tuple[ast.Option, ...]) -> dict:
    return {o.key.value: _scalar(o.value) for o in options}


def _scalar(value):
    if isinstance(value, ast.Number):
        return _num(value)
    return value.value


def _num(number: ast.Number | None):
    return None if number is None else number.value


def _fraction(number: ast.Number):
    """A threshold; the front end only lets fractions through (`0.85`, never `85%`)."""
    return number.value
