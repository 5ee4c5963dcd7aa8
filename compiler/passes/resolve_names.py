"""Every name resolves, to the right kind of declaration, and is declared once.

Example: `template t on sst` where no `sst` exists is N101 with a did-you-mean;
`mix m { clean = 50% }` where `clean` is a filter is N104.
"""

from __future__ import annotations

from ...dsl import ast
from ...dsl.diagnostics import DiagnosticSink, Label
from ...dsl.vocabulary import ATTRIBUTES, did_you_mean, one_of, suggest
from ..context import CheckContext, kind_of

# Which kinds of declaration each reference may name.
_MIXABLE = (ast.TemplateDecl, ast.ExpandDecl, ast.SourceDecl)


def resolve_names(recipe: ast.Recipe, context: CheckContext, sink: DiagnosticSink) -> None:
    _report_duplicates(recipe, sink)
    for decl, ref, allowed, role in _references(recipe):
        _resolve(ref, allowed, role, context, sink, decl)


def _report_duplicates(recipe: ast.Recipe, sink: DiagnosticSink) -> None:
    seen: dict[tuple[bool, str], object] = {}
    for decl in recipe.decls:
        key = (isinstance(decl, ast.OutputDecl), decl.name.value)
        first = seen.setdefault(key, decl)
        if first is decl:
            continue
        sink.report(
            "N102", decl.name.span, f"`{decl.name.value}` is declared twice",
            label=f"second declaration ({kind_of(decl)})",
            secondary=[Label(first.name.span, f"first declared here ({kind_of(first)})")],
            hint="rename one of them: declarations share one namespace",
        )


def _references(recipe: ast.Recipe):
    """(declaration, name used, kinds allowed, what the name is for)."""
    for decl in recipe.decls:
        if isinstance(decl, ast.TemplateDecl):
            yield decl, decl.source, (ast.SourceDecl,), "the source of a template"
        elif isinstance(decl, ast.ExpandDecl):
            yield decl, decl.source, (ast.SourceDecl,), "the seed source of an expansion"
            if decl.paraphrase is not None:
                yield decl, decl.paraphrase, (ast.ParaphraseDecl,), "the paraphrase rules of an expansion"
            if isinstance(decl.inputs, ast.Name):
                yield decl, decl.inputs, (ast.SourceDecl,), "the input source of an expansion"
        elif isinstance(decl, ast.MixDecl):
            for entry in decl.entries:
                yield decl, entry.name, _MIXABLE, "a mix entry"
            if decl.filter is not None:
                yield decl, decl.filter, (ast.FilterDecl,), "the filter of a mix"
        elif isinstance(decl, ast.OutputDecl):
            yield decl, decl.mix or decl.name, (ast.MixDecl,), "the mix an output writes"
        elif isinstance(decl, ast.FilterDecl):
            for rule in decl.rules:
                if isinstance(rule, ast.DecontaminateRule):
                    yield decl, rule.against, (ast.SourceDecl,), "the evaluation set of `decontaminate`"


def _resolve(ref: ast.Name, allowed: tuple, role: str, context: CheckContext, sink, decl) -> None:
    target = context.lookup(ref.value)
    words = _plain_list([_KIND[k] for k in allowed])
    if target is None:
        _undefined(ref, allowed, role, context, sink, decl, words)
    elif not isinstance(target, allowed):
        sink.report(
            "N104", ref.span, f"`{ref.value}` is a {kind_of(target)}, but {role} must be a {words}",
            label=f"a {kind_of(target)}",
            secondary=[Label(target.name.span, f"`{ref.value}` is declared here")],
            hint=_closest_of_kind(ref.value, allowed, context),
        )


def _undefined(ref, allowed, role, context, sink, decl, words) -> None:
    candidates = [n for n, d in context.symbols.items() if isinstance(d, allowed)]
    hint = did_you_mean(ref.value, candidates)
    if hint is None and isinstance(decl, ast.MixDecl):
        setting = suggest(ref.value, ATTRIBUTES["mix"])
        hint = f"did you mean the mix setting `{setting}`?" if setting else None
    if hint is None and isinstance(decl, ast.OutputDecl) and decl.mix is None:
        hint = "an output writes the mix of its name; name another with `output NAME from MIX`"
    sink.report(
        "N101", ref.span, f"no {words} named `{ref.value}`", label=f"{role}: not declared",
        hint=hint or (f"declared {words}s: {one_of(candidates)}" if candidates else f"declare a {words} first"),
    )


def _plain_list(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _closest_of_kind(name: str, allowed: tuple, context: CheckContext) -> str | None:
    candidates = [n for n, d in context.symbols.items() if isinstance(d, allowed)]
    return did_you_mean(name, candidates) if candidates else None


_KIND = {
    ast.SourceDecl: "source",
    ast.TemplateDecl: "template",
    ast.ExpandDecl: "expansion",
    ast.ParaphraseDecl: "paraphrase block",
    ast.FilterDecl: "filter",
    ast.MixDecl: "mix",
}
