"""What the semantic passes share: the recipe's directory and its symbol table."""

from __future__ import annotations

from pathlib import Path

import attrs

from ..dsl import ast

# What each declaration kind is called in messages.
KIND_WORDS = {
    ast.SourceDecl: "source",
    ast.TemplateDecl: "template",
    ast.ParaphraseDecl: "paraphrase",
    ast.ExpandDecl: "expand",
    ast.FilterDecl: "filter",
    ast.MixDecl: "mix",
    ast.OutputDecl: "output",
}

# The fields every rendered example has; filter rules read these.
EXAMPLE_FIELDS = ("instruction", "input", "output")


def kind_of(decl) -> str:
    return KIND_WORDS[type(decl)]


@attrs.define
class CheckContext:
    recipe: ast.Recipe
    base_dir: Path
    text: str = ""  # the recipe as written: some spans point inside strings
    # First declaration of each name; outputs live in their own namespace
    # because `output train` usually names the mix it writes.
    symbols: dict[str, object] = attrs.field(factory=dict)
    outputs: dict[str, ast.OutputDecl] = attrs.field(factory=dict)

    @classmethod
    def build(cls, recipe: ast.Recipe, base_dir: Path, text: str = "") -> CheckContext:
        context = cls(recipe, base_dir, text)
        for decl in recipe.decls:
            table = context.outputs if isinstance(decl, ast.OutputDecl) else context.symbols
            table.setdefault(decl.name.value, decl)
        return context

    def literal_text(self, span) -> str | None:
        """The text of a span as written, when it is known."""
        if span.end <= span.start or span.end > len(self.text):
            return None
        return self.text[span.start:span.end]

    def lookup(self, name: str):
        return self.symbols.get(name)

    def source_of(self, decl) -> ast.SourceDecl | None:
        """The source a template or expansion reads, when it resolves to one."""
        found = self.symbols.get(decl.source.value)
        return found if isinstance(found, ast.SourceDecl) else None
