"""Rules with word order: filter rules (`length instruction words 3..256`) and
mix entries (`dolly = 30% cap 3000`).

A `Words` cursor walks a rule's arguments; when the next word does not fit, it
reports what was expected after the text read so far and gives up on the rule
(S010), e.g. "expected `chars` or `words` after `length instruction`".
"""

from __future__ import annotations

from . import ast
from .block_reader import BlockReader, describe
from .cst import Attr, Op, Seq, Stmt
from .vocabulary import FILTER_RULES, OPTIONS, RULE_OPTIONS, did_you_mean, one_of


class RuleError(Exception):
    """Raised by `Words` after it has reported why a rule does not fit."""


class Words:
    def __init__(self, stmt: Stmt, reader: BlockReader) -> None:
        self.stmt = stmt
        self.reader = reader
        self.items = stmt.args
        self.index = 0

    def read_so_far(self) -> str:
        end = self.items[self.index - 1].span.end if self.index else self.stmt.head.span.end
        text = self.reader.source.text[self.stmt.span.start:end]
        return " ".join(text.split())

    def fail(self, expected: str, hint: str | None = None):
        found = self.items[self.index] if self.index < len(self.items) else None
        span = found.span if found is not None else self._end_span()
        label = f"found {describe(found)}" if found is not None else "the rule ends here"
        self.reader.sink.report(
            "S010", span, f"expected {expected} after `{self.read_so_far()}`", label=label, hint=hint,
        )
        raise RuleError

    def _end_span(self):
        last = self.items[-1].span if self.items else self.stmt.head.span
        return self.reader.source.span(last.end, last.end)

    def next(self, kind: type, expected: str, hint: str | None = None):
        item = self.items[self.index] if self.index < len(self.items) else None
        if not isinstance(item, kind) or (kind is ast.Number and item.percent):
            self.fail(expected, hint)
        self.index += 1
        return item

    def word(self, words: tuple[str, ...], hint: str | None = None) -> ast.Name:
        expected = one_of(words)
        item = self.items[self.index] if self.index < len(self.items) else None
        if isinstance(item, ast.Name) and item.value not in words:
            hint = hint or did_you_mean(item.value, words)
        name = self.next(ast.Name, expected, hint)
        if name.value not in words:
            self.index -= 1
            self.fail(expected, hint)
        return name

    def fields(self) -> tuple[ast.Name, ...]:
        """`instruction` or `(instruction, input)`."""
        item = self.items[self.index] if self.index < len(self.items) else None
        if isinstance(item, Seq) and item.bracket == "(" and item.items and all(
            isinstance(v, ast.Name) for v in item.items
        ):
            self.index += 1
            return item.items
        return (self.next(ast.Name, "a field name or `(field, field)`"),)

    def threshold(self) -> ast.Number:
        self.next(Op, "`>=` and a threshold", hint="thresholds read `>= 0.85`")
        if self.items[self.index - 1].value != ">=":
            self.index -= 1
            self.fail("`>=`", hint="a threshold keeps rows whose value is at least the number: `>= 0.85`")
        item = self.items[self.index] if self.index < len(self.items) else None
        if isinstance(item, ast.Number) and item.percent:
            self.fail("a fraction", hint=f"thresholds are fractions: write {item.value / 100:g}, not {item.text}")
        return self.next(ast.Number, "a number")

    def end(self) -> None:
        if self.index < len(self.items):
            self.fail("the end of the rule")


# -------------------------------------------------------------- filters ----


def build_filter_rule(stmt: Stmt, reader: BlockReader):
    head = stmt.head.value
    if head not in FILTER_RULES:
        reader.sink.report(
            "S009", stmt.head.span, f"`{head}` is not a filter rule", label="unknown rule",
            hint=did_you_mean(head, FILTER_RULES) or f"rules are {one_of(FILTER_RULES)}",
        )
        return None
    words = Words(stmt, reader)
    try:
        rule = _RULES[head](words, stmt)
        words.end()
    except RuleError:
        return None
    options_for = "near" if isinstance(rule, ast.NearDedupRule) else head
    if stmt.body is not None and options_for not in RULE_OPTIONS:
        reader.misplaced(stmt, f"a `{head}` rule takes no `{{ ... }}` options", hint="remove the braces")
        return None
    return rule


def _length(w: Words, stmt: Stmt) -> ast.LengthRule:
    field = w.next(ast.Name, "the field to measure")
    unit = w.word(OPTIONS["length_unit"])
    bounds = w.next(ast.Range, "a range such as `3..256`")
    return ast.LengthRule(field, unit, bounds, span=stmt.span)


def _regex(w: Words, stmt: Stmt) -> ast.RegexRule:
    field = w.next(ast.Name, "the field to match")
    w.word(("matches",))
    pattern = w.next(ast.Str, "a regular expression in quotes", hint='for example r"(?i)as an ai"')
    return ast.RegexRule(stmt.head, field, pattern, span=stmt.span)


def _require(w: Words, stmt: Stmt) -> ast.RequireRule:
    return ast.RequireRule(w.fields(), span=stmt.span)


def _dedup(w: Words, stmt: Stmt):
    mode = w.word(("exact", "near"))
    w.word(("on",))
    fields = w.fields()
    if mode.value == "exact":
        normalize = ()
        if w.index < len(w.items):
            w.word(("normalize",))
            normalize = _normalizers(w)
        return ast.ExactDedupRule(fields, normalize, span=stmt.span)
    metric = w.word(OPTIONS["near_metric"])
    threshold = w.threshold()
    return ast.NearDedupRule(fields, metric, threshold, _options(w, stmt, "near"), span=stmt.span)


def _normalizers(w: Words) -> tuple[ast.Name, ...]:
    item = w.items[w.index] if w.index < len(w.items) else None
    names = item.items if isinstance(item, Seq) else (item,)
    allowed = OPTIONS["normalize"]
    if item is None or not all(isinstance(n, ast.Name) and n.value in allowed for n in names):
        bad = next((n for n in names if not (isinstance(n, ast.Name) and n.value in allowed)), None)
        hint = did_you_mean(bad.value, allowed) if isinstance(bad, ast.Name) else None
        w.fail(f"{one_of(allowed)} or a tuple of them", hint)
    w.index += 1
    return names


def _score(w: Words, stmt: Stmt) -> ast.ScoreRule:
    scorer = w.next(ast.Name, "the name of a scorer", hint="the built-in scorer is `heuristic`")
    return ast.ScoreRule(scorer, w.threshold(), _options(w, stmt, "score"), span=stmt.span)


def _agreement(w: Words, stmt: Stmt) -> ast.AgreementRule:
    return ast.AgreementRule(w.threshold(), _options(w, stmt, "agreement"), span=stmt.span)


def _decontaminate(w: Words, stmt: Stmt) -> ast.DecontaminateRule:
    """`decontaminate [on FIELDS] against SOURCE`; without `on`: instruction, input and output."""
    fields = tuple(ast.Name(f, span=stmt.head.span) for f in ("instruction", "input", "output"))
    if w.word(("on", "against")).value == "on":
        fields = w.fields()
        w.word(("against",))
    against = w.next(ast.Name, "the name of an evaluation source")
    return ast.DecontaminateRule(fields, against, _options(w, stmt, "decontaminate"), span=stmt.span)


def _options(w: Words, stmt: Stmt, rule: str) -> tuple[ast.Option, ...]:
    """The `{ key = value }` options of a rule."""
    allowed = RULE_OPTIONS[rule]
    options = []
    for item in stmt.body or ():
        ok_value = isinstance(item, Attr) and len(item.args) == 1 and not isinstance(item.args[0], (Op, Seq))
        if not (isinstance(item, Attr) and isinstance(item.key, ast.Name) and item.key.value in allowed):
            key = item.key.value if isinstance(item, Attr) and isinstance(item.key, ast.Name) else None
            span = item.key.span if isinstance(item, Attr) else item.span
            w.reader.sink.report(
                "S004", span, f"this rule has no option `{key or '?'}`", label="unknown option",
                hint=(did_you_mean(key, allowed) if key else None) or f"options: {one_of(allowed)}",
            )
        elif not ok_value:
            w.reader.wrong(item, "one value")
        else:
            options.append(ast.Option(item.key, item.args[0], span=item.span))
    return tuple(options)


_RULES = {
    "length": _length,
    "keep": _regex,
    "drop": _regex,
    "require": _require,
    "dedup": _dedup,
    "score": _score,
    "agreement": _agreement,
    "decontaminate": _decontaminate,
}


# ----------------------------------------------------------------- mix ----

_AMOUNT_HINT = "amounts read `50%` (share of the mix), `3` (a weight), `1200 rows` or `40% of source`"


def build_mix_entry(attr: Attr, reader: BlockReader) -> ast.MixEntry | None:
    if not isinstance(attr.key, ast.Name):
        reader.misplaced(attr, "a mix entry starts with the name of a template, expansion or source")
        return None
    # the rule reads from the key through `=`, so messages say "after `summarize =`"
    text = reader.source.text
    equals = text.index("=", attr.key.span.end) + 1
    head = ast.Name(attr.key.value, span=reader.source.span(attr.key.span.start, equals))
    stmt = Stmt(head, attr.args, None, attr.span)
    words = Words(stmt, reader)
    try:
        amount = _amount(words, attr)
        cap = None
        if words.index < len(words.items):
            words.word(("cap",))
            cap = words.next(ast.Number, "a whole number of rows")
        words.end()
    except RuleError:
        return None
    return ast.MixEntry(attr.key, amount, cap, span=attr.span)


def _amount(w: Words, attr: Attr) -> ast.Amount:
    item = w.items[0] if w.items else None
    if not isinstance(item, ast.Number):
        w.fail("an amount", _AMOUNT_HINT)
    w.index = 1
    kind = "share" if item.percent else "weight"
    nxt = w.items[1] if len(w.items) > 1 else None
    if isinstance(nxt, ast.Name) and nxt.value == "rows" and not item.percent:
        w.index, kind = 2, "count"
    elif isinstance(nxt, ast.Name) and nxt.value == "of" and item.percent:
        w.index = 2
        w.word(("source",))
        kind = "fraction"
    return ast.Amount(kind, item, span=item.span.cover(w.items[w.index - 1].span))
