"""Declarations nothing uses (a warning): a source no template reads, a
template no mix draws from, a filter no mix applies, a mix no output writes."""

from __future__ import annotations

from ...dsl import ast
from ...dsl.diagnostics import DiagnosticSink
from ...dsl.vocabulary import suggest
from ..context import CheckContext, kind_of


def find_unused(recipe: ast.Recipe, context: CheckContext, sink: DiagnosticSink) -> None:
    used = _used_names(recipe)
    # `sumarize = 100%` is an N101 that suggests `summarize`: not also "unused"
    declared = list(context.symbols)
    used |= {suggest(name, declared) for name in used if name not in context.symbols} - {None}
    for decl in recipe.decls:
        if isinstance(decl, ast.OutputDecl) or decl.name.value in used:
            continue
        if context.lookup(decl.name.value) is not decl:
            continue  # a duplicate: N102 already said so
        sink.report(
            "W103", decl.name.span, f"{kind_of(decl)} `{decl.name.value}` is never used",
            label="declared but not used", hint=_HINTS[type(decl)],
        )


def _used_names(recipe: ast.Recipe) -> set[str]:
    used: set[str] = set()
    for decl in recipe.decls:
        if isinstance(decl, (ast.TemplateDecl, ast.ExpandDecl)):
            used.add(decl.source.value)
        if isinstance(decl, ast.ExpandDecl):
            used.update(n.value for n in (decl.paraphrase, decl.inputs) if isinstance(n, ast.Name))
        if isinstance(decl, ast.MixDecl):
            used.update(e.name.value for e in decl.entries)
            if decl.filter is not None:
                used.add(decl.filter.value)
        if isinstance(decl, ast.OutputDecl):
            used.add((decl.mix or decl.name).value)
        if isinstance(decl, ast.FilterDecl):
            used.update(r.against.value for r in decl.rules if isinstance(r, ast.DecontaminateRule))
    return used


_HINTS = {
    ast.SourceDecl: "read it in a template or an expansion, or remove it",
    ast.TemplateDecl: "add it to a mix, or remove it",
    ast.ExpandDecl: "add it to a mix, or remove it",
    ast.ParaphraseDecl: "use it in an expansion (`paraphrase = NAME`), or remove it",
    ast.FilterDecl: "apply it in a mix (`filter = NAME`), or remove it",
    ast.MixDecl: "write it with an `output` block, or remove it",
}
