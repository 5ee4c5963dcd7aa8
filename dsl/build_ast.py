"""Give the generic items their meaning: build the typed AST of a recipe.

One `build_<kind>` function per block kind (`build_source` for `source`), each
reading its block through a `BlockReader`. Problems are reported to the sink;
a block that cannot be built is left out of the AST rather than half-built.
"""

from __future__ import annotations

from . import ast
from .block_reader import BlockReader
from .build_rules import build_filter_rule, build_mix_entry
from .cst import Attr, Chain, FieldItem, Stmt
from .diagnostics import DiagnosticSink, Label
from .source import SourceFile
from .vocabulary import (
    ATTRIBUTES, BLOCK_KINDS, BLOCK_LINKS, NESTED_ATTRIBUTES, NESTED_BLOCKS, OPTIONS, TYPES,
    did_you_mean, one_of, suggest,
)


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


class AstBuilder:
    def __init__(self, source: SourceFile, sink: DiagnosticSink) -> None:
        self.source = source
        self.sink = sink

    def reader(self, kind: str, stmt: Stmt, attributes=None) -> BlockReader:
        if attributes is None:
            attributes = ATTRIBUTES.get(kind) or NESTED_ATTRIBUTES.get(kind, ())
        return BlockReader(kind, stmt, self.sink, self.source, attributes, NESTED_BLOCKS.get(kind, ()))

    # -- the file ------------------------------------------------------------

    def build(self, items: tuple) -> ast.Recipe:
        meta, decls = None, []
        for item in items:
            built = self.top_level(item)
            if isinstance(built, ast.RecipeMeta):
                if meta is not None:
                    self.sink.report("S011", item.head.span, "a file has only one `recipe` block",
                                     label="second `recipe` block", hint="merge the two blocks into one")
                    continue
                meta = built
            elif built is not None:
                decls.append(built)
        span = self.source.span(0, len(self.source.text))
        return ast.Recipe(meta, tuple(decls), span=span)

    def top_level(self, item):
        if not (isinstance(item, Stmt) and item.body is not None):
            return self.not_a_block(item)
        kind = item.head.value
        if kind not in BLOCK_KINDS:
            return self.unknown_block(item)
        name = self.header(kind, item)
        if name is None:
            return None
        return getattr(self, f"build_{kind}")(item, *name)

    def not_a_block(self, item) -> None:
        if isinstance(item, Stmt) and item.head.value in BLOCK_KINDS:
            message, hint = f"`{item.head.value}` needs a body in braces", "add `{ ... }` after the header"
        else:
            message = "only blocks can appear at the top level of a recipe"
            hint = f"put this inside a block: {one_of(BLOCK_KINDS)}"
        self.sink.report("S011", item.span, message, label="not a block", hint=hint)

    def unknown_block(self, item: Stmt) -> None:
        word = item.head.value
        glued = next((k for k in BLOCK_KINDS if word.startswith(k) and len(word) > len(k)), None)
        if glued is not None and self.name_is_missing(glued, item):  # `sourcereviews {`, not `mixx train {`
            rest = word[len(glued):]
            self.sink.report(
                "S002", item.head.span, f"`{word}` is not a block kind: `{glued}` is glued to `{rest}`",
                label="missing space", hint=f"write `{glued} {rest}`",
            )
            return
        self.sink.report(
            "S001", item.head.span, f"`{word}` is not a kind of block",
            label="unknown block kind",
            hint=did_you_mean(word, BLOCK_KINDS) or f"blocks are {one_of(BLOCK_KINDS)}",
        )

    def name_is_missing(self, kind: str, item: Stmt) -> bool:
        """Whether the words after a glued keyword lack the block's name (`templatex on s`)."""
        first = item.args[0] if item.args else None
        return first is None or (isinstance(first, ast.Name) and first.value == BLOCK_LINKS.get(kind))

    def header(self, kind: str, stmt: Stmt) -> tuple | None:
        """Check `KIND NAME [LINK TARGET]`; returns (name, target) or None."""
        link = BLOCK_LINKS.get(kind)
        words = stmt.args
        optional_link = kind == "output"
        shape = f"{kind} NAME" + (f" {link} NAME" if link else "")
        ok = (
            len(words) in ((1, 3) if optional_link else ((3,) if link else (1,)))
            and all(isinstance(w, ast.Name) for w in words)
            and (len(words) == 1 or words[1].value == link)
        )
        if not ok:
            self.bad_header(kind, stmt, shape)
            return None
        return (words[0], words[2] if len(words) == 3 else None)

    def bad_header(self, kind: str, stmt: Stmt, shape: str) -> None:
        span = stmt.head.span if not stmt.args else stmt.head.span.cover(stmt.args[-1].span)
        self.sink.report(
            "S003", span, f"{_article(kind)} `{kind}` block header reads `{shape} {{`",
            label="this header does not fit", hint=f"write it as `{shape} {{ ... }}`",
        )

    # -- blocks --------------------------------------------------------------

    def build_recipe(self, stmt: Stmt, name: ast.Name, _target) -> ast.RecipeMeta:
        r = self.reader("recipe", stmt)
        self.no_rest(r)
        seed = r.number(r.attrs.get("seed"), integer=True)
        return ast.RecipeMeta(
            name, seed, r.string(r.attrs.get("description")), r.string(r.attrs.get("version")),
            span=stmt.span,
        )

    def build_source(self, stmt: Stmt, name: ast.Name, _target) -> ast.SourceDecl | None:
        r = self.reader("source", stmt)
        self.no_rest(r)
        path = r.string(r.require("from"))
        fields, labels, cost = (), [], None
        for block in r.blocks:
            if block.head.value == "schema":
                fields += self.schema(block)
            elif block.head.value == "labels":
                labels.append(self.labels(block))
            elif cost is None:
                cost = self.cost(block)
            else:
                self.twice(block, r)
        fields = self.unique(fields, lambda f: f.name, "field", "schema")
        labels = self.unique([x for x in labels if x], lambda m: m.field, "verbalizer for", "labels")
        decl = ast.SourceDecl(
            name, path or ast.Str(""),
            format=r.name(r.attrs.get("format"), OPTIONS["format"]),
            kind=r.name(r.attrs.get("kind"), OPTIONS["kind"]),
            explode=r.name(r.attrs.get("explode")),
            fields=fields, labels=labels, cost=cost,
            allow_outside=r.boolean(r.attrs.get("allow_outside")),
            span=stmt.span,
        )
        return decl if path is not None else None

    def schema(self, block: Stmt) -> tuple[ast.FieldDecl, ...]:
        r = self.reader("schema", block, attributes=())
        fields = []
        for item in r.rest:
            if not isinstance(item, FieldItem):
                r.misplaced(item, "a `schema` block holds field declarations",
                            hint="declare a field as `name: str` (types: str, int, float, bool, list[str])")
            elif self.check_type(item.type):
                fields.append(ast.FieldDecl(item.name, item.type, item.path, span=item.span))
        return tuple(fields)

    def check_type(self, ref: ast.TypeRef) -> bool:
        if ref.name not in TYPES:
            self.sink.report(
                "S012", ref.span, f"`{ref.name}` is not a field type", label="unknown type",
                hint=did_you_mean(ref.name, TYPES) or f"types are {one_of(TYPES)}",
            )
            return False
        if (ref.name == "list") != (ref.item is not None):
            expected = "`list[str]`" if ref.name == "list" else f"`{ref.name}`"
            self.sink.report("S012", ref.span, f"write this type as {expected}",
                             label="only `list` takes an item type", hint="for example `list[str]`")
            return False
        if ref.item is not None and ref.item.optional:
            self.sink.report("S012", ref.item.span, "list items cannot be optional",
                             label="`?` inside `list[...]`", hint="make the list optional instead: `list[str]?`")
            return False
        return ref.item is None or self.check_type(ref.item)

    def labels(self, block: Stmt) -> ast.LabelMap | None:
        r = self.reader("labels", block, attributes=())
        if len(block.args) != 1 or not isinstance(block.args[0], ast.Name):
            self.bad_header("labels", block, "labels FIELD")
            return None
        entries = []
        for item in r.rest:
            if not isinstance(item, Attr):
                r.misplaced(item, "a `labels` block maps values to words",
                            hint='write `0 = "negative"` or `"entailment" = "yes"`')
                continue
            text = r.string(item)
            key = item.key
            if isinstance(key, ast.Name) and key.value in ("true", "false"):
                key = ast.Bool(key.value == "true", span=key.span)
            if text is not None:
                entries.append(ast.LabelEntry(key, text, span=item.span))
        return ast.LabelMap(block.args[0], tuple(entries), span=block.span)

    def cost(self, block: Stmt) -> ast.CostDecl:
        r = self.reader("cost", block)
        self.no_rest(r)
        return ast.CostDecl(
            r.number(r.attrs.get("usd_per_hour")), r.number(r.attrs.get("minutes_per_example")),
            span=block.span,
        )

    def build_template(self, stmt: Stmt, name: ast.Name, source: ast.Name) -> ast.TemplateDecl | None:
        r = self.reader("template", stmt)
        self.no_rest(r)
        instruction = r.strings(r.require("instruction"))
        output = r.strings(r.require("output"))
        fewshot = self.fewshot(r.blocks[0]) if r.blocks else None
        for extra in r.blocks[1:]:
            self.twice(extra, r)
        if instruction is None or output is None:
            return None
        return ast.TemplateDecl(
            name, source, instruction, r.strings(r.attrs.get("input")) or (), output,
            choose=r.name(r.attrs.get("choose"), OPTIONS["choose"]),
            fewshot=fewshot, span=stmt.span,
        )

    def fewshot(self, block: Stmt) -> ast.FewShot | None:
        r = self.reader("fewshot", block)
        self.no_rest(r)
        count = r.number(r.require("count"), integer=True)
        if count is None:
            return None
        return ast.FewShot(count, r.string(r.attrs.get("separator")), span=block.span)

    def build_paraphrase(self, stmt: Stmt, name: ast.Name, _target) -> ast.ParaphraseDecl:
        r = self.reader("paraphrase", stmt)
        rules = []
        for item in r.rest:
            if not isinstance(item, Chain):
                r.misplaced(item, "a `paraphrase` block holds rewrite rules",
                            hint='write `"Write" <-> "Compose"` or `"Classify" -> "Categorize"`')
            elif len({a.value for a in item.arrows}) > 1:
                self.sink.report("S010", item.span, "a rule mixes `->` and `<->`",
                                 label="one kind of arrow per rule",
                                 hint="split it into a `<->` group and a `->` rule")
            else:
                rules.append(ast.ParaphraseRule(item.phrases, item.arrows[0].value == "<->", span=item.span))
        return ast.ParaphraseDecl(name, tuple(rules), span=stmt.span)

    def build_expand(self, stmt: Stmt, name: ast.Name, source: ast.Name) -> ast.ExpandDecl:
        r = self.reader("expand", stmt)
        self.no_rest(r)
        inputs_attr = r.attrs.get("inputs")
        inputs = None
        if inputs_attr is not None:
            is_name = len(inputs_attr.args) == 1 and isinstance(inputs_attr.args[0], ast.Name)
            inputs = r.name(inputs_attr) if is_name else r.strings(inputs_attr)
        return ast.ExpandDecl(
            name, source,
            paraphrase=r.name(r.attrs.get("paraphrase")),
            variants=r.number(r.attrs.get("variants"), integer=True),
            inputs=inputs, input_field=r.name(r.attrs.get("input_field")),
            span=stmt.span,
        )

    def build_filter(self, stmt: Stmt, name: ast.Name, _target) -> ast.FilterDecl:
        r = self.reader("filter", stmt)
        rules = []
        for item in r.rest:
            if isinstance(item, Stmt):
                rule = build_filter_rule(item, r)
                if rule is not None:
                    rules.append(rule)
            else:
                r.misplaced(item, "a `filter` block holds rules, one per line",
                            hint="for example `length instruction words 3..256`")
        return ast.FilterDecl(name, tuple(rules), r.boolean(r.attrs.get("ordered")), span=stmt.span)

    def build_mix(self, stmt: Stmt, name: ast.Name, _target) -> ast.MixDecl:
        r = self.reader("mix", stmt)
        entries = []
        for item in r.rest:
            entry = build_mix_entry(item, r) if isinstance(item, Attr) else self.not_entry(r, item)
            if entry is not None:
                entries.append(entry)
        return ast.MixDecl(
            name, tuple(entries),
            size=r.number(r.attrs.get("size"), integer=True),
            filter=r.name(r.attrs.get("filter")),
            temperature=r.number(r.attrs.get("temperature")),
            on_short=r.name(r.attrs.get("on_short"), OPTIONS["on_short"]),
            max_epochs=r.number(r.attrs.get("max_epochs")),
            max_verb_share=r.number(r.attrs.get("max_verb_share")),
            min_verb_diversity=r.number(r.attrs.get("min_verb_diversity")),
            balance=r.name(r.attrs.get("balance")),
            max_share=r.number(r.attrs.get("max_share")),
            span=stmt.span,
        )

    def not_entry(self, r: BlockReader, item) -> None:
        r.misplaced(item, "a `mix` block holds entries and settings",
                    hint="write an entry as `template_name = 50%`")

    def build_output(self, stmt: Stmt, name: ast.Name, mix: ast.Name | None) -> ast.OutputDecl | None:
        r = self.reader("output", stmt)
        self.no_rest(r)
        path = r.string(r.require("to"))
        provenance = self.provenance(r, r.attrs.get("provenance"))
        if path is None:
            return None
        return ast.OutputDecl(
            name, path, mix,
            format=r.name(r.attrs.get("format"), OPTIONS["output_format"]),
            provenance=provenance, system=r.string(r.attrs.get("system")),
            order=self.order(r, r.attrs.get("order")), review=r.number(r.attrs.get("review"), integer=True),
            span=stmt.span,
        )

    def order(self, r: BlockReader, attr: Attr | None) -> tuple[ast.Name, ...]:
        """`order = random` (the default) or `order = quality desc|asc`."""
        if attr is None:
            return ()
        words = tuple(a.value for a in attr.args if isinstance(a, ast.Name))
        if len(words) == len(attr.args) and words in (("random",), ("quality", "desc"), ("quality", "asc")):
            return tuple(attr.args) if words != ("random",) else ()
        r.wrong(attr, "`random`, `quality desc` or `quality asc`", attr.args[0] if len(attr.args) == 1 else None)
        return ()

    def provenance(self, r: BlockReader, attr: Attr | None) -> tuple[ast.Name, ...]:
        if attr is None:
            return ()
        if len(attr.args) == 1 and isinstance(attr.args[0], ast.Name) and attr.args[0].value in ("true", "false"):
            flag = attr.args[0]
            return tuple(ast.Name(w, span=flag.span) for w in OPTIONS["provenance"]) if flag.value == "true" else ()
        return r.names(attr, OPTIONS["provenance"]) or ()

    def twice(self, block: Stmt, r: BlockReader) -> None:
        self.sink.report("S005", block.head.span, f"`{r.title}` has a second `{block.head.value}` block",
                         label="second block", hint="merge the two blocks into one")

    def unique(self, items, name_of, what: str, where: str) -> tuple:
        """Items whose name was not seen before; each repeat is S005."""
        seen: dict[str, object] = {}
        kept = []
        for item in items:
            name = name_of(item)
            first = seen.setdefault(name.value, name)
            if first is name:
                kept.append(item)
                continue
            self.sink.report("S005", name.span, f"{what} `{name.value}` is declared twice",
                             label="declared again here", secondary=[Label(first.span, "first declared here")],
                             hint=f"keep one of the two in `{where}`")
        return tuple(kept)

    def no_rest(self, r: BlockReader) -> None:
        """Report items of a block that takes only attributes and known blocks."""
        for item in r.rest:
            if isinstance(item, Stmt) and item.body is not None:
                nested = NESTED_BLOCKS.get(r.kind, ())
                hint = did_you_mean(item.head.value, nested) if nested else None
                why = f"`{r.kind}` blocks have no `{item.head.value}` block"
                r.misplaced(item, why, hint=hint or (f"blocks allowed here: {one_of(nested)}" if nested else None))
            elif isinstance(item, Attr):
                r.unknown_attr(item, ATTRIBUTES.get(r.kind) or NESTED_ATTRIBUTES.get(r.kind, ()))
            else:
                self.stray(r, item)

    def stray(self, r: BlockReader, item) -> None:
        attributes = ATTRIBUTES.get(r.kind) or NESTED_ATTRIBUTES.get(r.kind, ())
        if isinstance(item, Stmt) and suggest(item.head.value, attributes) == item.head.value:
            why, hint = f"`{item.head.value}` needs `=` and a value", f"write `{item.head.value} = ...`"
        elif isinstance(item, FieldItem):
            why, hint = "field declarations go inside a `schema { ... }` block", None
        else:
            why = f"this does not belong in a `{r.kind}` block"
            hint = f"a `{r.kind}` block takes {one_of(attributes)}" if attributes else None
        r.misplaced(item, why, hint=hint)
