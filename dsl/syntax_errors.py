"""Syntax errors in words: from Lark's exceptions to P-coded diagnostics.

Lark says which terminals it expected; people want to read "expected a value
after `instruction =`". This module phrases each failure, points the caret at
the right character (an unclosed `{`, not the end of the file) and, to report
more than one error per run, blanks the broken line and parses again.
"""

from __future__ import annotations

import re

import attrs
from lark import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from .diagnostics import Diagnostic, DiagnosticSink, Label, Severity
from .source import SourceFile, Span

MAX_ERRORS = 20

# What each terminal is, in words; the order is the order of a message.
_TERMINAL_WORDS = {
    "NAME": "a name",
    "STRING": "a string",
    "LONG_STRING": "a string",
    "RAW_STRING": "a string",
    "NUMBER": "a number",
    "LSQB": "a list",
    "LPAR": "a tuple",
    "LBRACE": "`{`",
    "RBRACE": "`}`",
    "RSQB": "`]`",
    "RPAR": "`)`",
    "EQUAL": "`=`",
    "COLON": "`:`",
    "ARROW": "`->` or `<->`",
    "COMPARE": "a comparison such as `>=`",
    "_NL": "a new line",
    "COMMA": "`,`",
    "SEMICOLON": "`;`",
    "DOT": "`.`",
    "__ANON_0": "`..`",
    "OPTIONAL": "`?`",
}

_OPEN = {"{": "}", "[": "]", "(": ")"}
_CLOSE = {v: k for k, v in _OPEN.items()}


@attrs.frozen
class Bracket:
    char: str
    offset: int


@attrs.frozen
class BracketScan:
    unclosed: tuple[Bracket, ...]  # openers never closed, outermost first
    bad: tuple[tuple[Bracket, Bracket | None], ...]  # closer, the opener it failed to match
    pairs: tuple[tuple[Bracket, Bracket], ...]  # opener, closer


def scan_brackets(text: str) -> BracketScan:
    """Match brackets outside strings and comments."""
    stack: list[Bracket] = []
    bad: list[tuple[Bracket, Bracket | None]] = []
    pairs: list[tuple[Bracket, Bracket]] = []
    for match in _BRACKET_SCAN.finditer(text):
        char = match.group(0)
        if char in _OPEN:
            stack.append(Bracket(char, match.start()))
        elif char in _CLOSE:
            closer = Bracket(char, match.start())
            if stack and stack[-1].char == _CLOSE[char]:
                pairs.append((stack.pop(), closer))
            else:
                bad.append((closer, stack[-1] if stack else None))
    return BracketScan(tuple(stack), tuple(bad), tuple(pairs))


# Strings and comments are matched (and skipped) before single brackets.
_BRACKET_SCAN = re.compile(r'"""(?:[^"\\]|\\.|"(?!""))*(?:"""|$)|r"[^"\n]*"?|"(?:[^"\\\n]|\\.)*"?|#[^\n]*|[{}\[\]()]', re.S)


_VALUE_START = {"NAME", "STRING", "LONG_STRING", "RAW_STRING", "NUMBER", "LSQB", "LPAR"}
_ITEM_END = {"_NL", "COMMA", "SEMICOLON", "RBRACE", "$END"}


MAX_DEPTH = 64


def too_deep(text: str) -> Bracket | None:
    """The first bracket nested deeper than MAX_DEPTH, outside strings and comments."""
    depth = 0
    for match in _BRACKET_SCAN.finditer(text):
        char = match.group(0)
        if char in _OPEN:
            depth += 1
            if depth > MAX_DEPTH:
                return Bracket(char, match.start())
        elif char in _CLOSE:
            depth = max(0, depth - 1)
    return None


def expected_words(expected: set[str]) -> str:
    """Lark's expected terminals, said in words: `a value or the end of the item`."""
    expected = set(expected)
    words: list[str] = []
    if len(_VALUE_START & expected) >= 4:
        words.append("a value")
        expected -= _VALUE_START | {"COMPARE"}
    if len(_ITEM_END & expected) >= 2:
        words.append("the end of the item")
        expected -= _ITEM_END
    for name in sorted(expected, key=_word_order):
        word = _TERMINAL_WORDS.get(name)
        if word and word not in words:
            words.append(word)
    if not words:
        return "something else"
    if len(words) > 4:
        return "the start of a new item"
    return ", ".join(words[:-1]) + (" or " if len(words) > 1 else "") + words[-1]


def _word_order(name: str) -> int:
    order = list(_TERMINAL_WORDS)
    return order.index(name) if name in order else len(order)


def describe_token(token) -> str:
    if token.type == "_NL":
        return "the end of the line"
    if token.type == "$END":
        return "the end of the file"
    text = str(token)
    if token.type in ("STRING", "LONG_STRING", "RAW_STRING"):
        return "a string"
    if token.type == "NUMBER":
        return f"the number `{text}`"
    if token.type == "NAME":
        return f"`{text}`"
    return f"`{text}`"


class SyntaxErrorReporter:
    """Turns one Lark failure into one diagnostic, in the sink."""

    def __init__(self, source: SourceFile, sink: DiagnosticSink) -> None:
        self.source = source
        self.sink = sink

    def span(self, start: int, end: int) -> Span:
        return self.source.span(start, end)

    def report(self, error: UnexpectedInput) -> Diagnostic:
        if isinstance(error, UnexpectedCharacters):
            return self.unexpected_character(error)
        structural = self.bracket_problem()
        if structural is not None:
            return structural
        assert isinstance(error, UnexpectedToken)
        if error.token.type == "$END":
            return self.unexpected_end(error)
        return self.unexpected_token(error)

    # -- lexical -------------------------------------------------------------

    def unexpected_character(self, error: UnexpectedCharacters) -> Diagnostic:
        text, pos = self.source.text, error.pos_in_stream
        char = text[pos]
        if char == '"':
            return self.unterminated_string(pos)
        hint = _CHARACTER_HINTS.get(char)
        if hint is None and not char.isascii() and char.isalpha():
            hint = "names use ASCII letters, digits and `_`; put other text in a string"
        if hint is None and char == "\\":
            hint = "backslashes belong inside strings"
        shown = repr(char)[1:-1] if not char.isprintable() else char
        return self.sink.report(
            "P007", self.span(pos, pos + 1), f"unexpected character `{shown}`",
            label="not part of the recipe language", hint=hint,
        )

    def unterminated_string(self, pos: int) -> Diagnostic:
        text = self.source.text
        if text[max(0, pos - 2):pos + 1] == '"""':
            start = pos - 2
            return self.sink.report(
                "P004", self.span(start, start + 3), "this multi-line string is never closed",
                label='opened here, no `"""` after it', hint='close it with `"""`',
            )
        start = pos - 1 if pos > 0 and text[pos - 1] == "r" else pos
        line_end = text.find("\n", pos)
        line_end = len(text) if line_end < 0 else line_end
        return self.sink.report(
            "P004", self.span(start, line_end), "this string is never closed",
            label="no closing `\"` on this line",
            hint='close it with `"`; a string that spans lines is written `"""..."""`',
        )

    # -- structure -----------------------------------------------------------

    def bracket_problem(self) -> Diagnostic | None:
        scan = scan_brackets(self.source.text)
        if scan.bad:
            closer, opener = scan.bad[0]
            return self.unmatched(closer, opener)
        if scan.unclosed:
            opener = _culprit(self.source.text, scan)
            return self.sink.report(
                "P005", self.span(opener.offset, opener.offset + 1),
                f"this `{opener.char}` is never closed", label=f"no `{_OPEN[opener.char]}` matches it",
                hint=f"add `{_OPEN[opener.char]}` where the {_WHAT[opener.char]} ends",
            )
        return None

    def unmatched(self, closer: Bracket, opener: Bracket | None) -> Diagnostic:
        span = self.span(closer.offset, closer.offset + 1)
        if opener is None:
            return self.sink.report(
                "P006", span, f"`{closer.char}` closes nothing", label="nothing is open here",
                hint="remove it, or look for a missing opening bracket above",
            )
        return self.sink.report(
            "P006", span, f"`{closer.char}` does not close `{opener.char}`",
            label=f"expected `{_OPEN[opener.char]}`",
            secondary=[Label(self.span(opener.offset, opener.offset + 1), "opened here")],
            hint=f"close the {_WHAT[opener.char]} with `{_OPEN[opener.char]}` first",
        )

    def unexpected_end(self, error: UnexpectedToken) -> Diagnostic:
        end = len(self.source.text.rstrip())
        after = self.context_before(end)
        message = "the file ends in the middle of an item" + (f", after `{after}`" if after else "")
        return self.sink.report(
            "P009", self.span(end, end), message,
            label=f"expected {expected_words(error.expected)}",
            hint="finish the item or remove it",
        )

    def unexpected_token(self, error: UnexpectedToken) -> Diagnostic:
        token = error.token
        start = token.start_pos
        end = token.end_pos if token.type != "_NL" else start
        after = self.context_before(start)
        if token.type in ("EQUAL", "LBRACE") and "=" in after:
            return self.missing_separator(after, start, "=" if token.type == "EQUAL" else "{")
        expected = expected_words(error.expected)
        message = f"expected {expected}" + (f" after `{after}`" if after else "")
        message += f", found {describe_token(token)}"
        return self.sink.report(
            "P008", self.span(start, end), message, label=f"expected {expected}",
            hint=_token_hint(token, after),
        )

    def missing_separator(self, after: str, at: int, token: str) -> Diagnostic:
        """`a = 1 b = 2`, `a = 1 schema {`: the next key was read as part of the value."""
        key = after.split()[-1]
        start = self.source.text.rfind(key, 0, at)
        shown = f"{key} = ..." if token == "=" else f"{key} {{ ... }}"
        return self.sink.report(
            "P008", self.span(start, start + len(key)),
            f"`{shown}` starts a new item, but nothing separates it from the one before",
            label="a new item starts here", hint="put it on its own line, or separate the items with `,` or `;`",
        )

    def context_before(self, offset: int) -> str:
        """The item text before `offset` on its line: `instruction =`."""
        line_start = self.source.text.rfind("\n", 0, offset) + 1
        text = " ".join(self.source.text[line_start:offset].split())
        text = text.rsplit("{", 1)[-1].strip()
        return text if 0 < len(text) <= 48 else ""


_WHAT = {"{": "block", "[": "list", "(": "tuple"}

_CHARACTER_HINTS = {
    "'": 'strings use double quotes: "text"',
    "\u201c": 'use straight double quotes `"`, not typographic ones',
    "\u201d": 'use straight double quotes `"`, not typographic ones',
    "@": None,
    ".": "a number needs digits after the dot (`0.5`); a range reads `3..256`",
    "%": "a percentage is a number followed by `%`, with no space: `50%`",
    "-": "arrows read `->` or `<->`; a negative number has no space: `-1`",
}


def _token_hint(token, after: str) -> str | None:
    if token.type == "_NL" and after.endswith("="):
        return "every attribute needs a value on the same line"
    if token.type == "NAME" and after:
        return "separate items with a new line, `,` or `;`"
    if token.type == "EQUAL":
        return "an attribute reads `name = value`"
    return None


def _culprit(text: str, scan: BracketScan) -> Bracket:
    """Which unclosed bracket to blame.

    A `{` that lost its `}` borrows the next one, so the bracket left open at
    the end is often an outer block. A `}` at a smaller indentation than the
    line that opened its `{` shows where the real gap is: blame that opener.
    """
    lists = [b for b in scan.unclosed if b.char != "{"]
    if lists:
        return lists[-1]
    for opener, closer in sorted(scan.pairs, key=lambda pair: pair[0].offset):
        if opener.char == "{" and _indent_at(text, closer.offset) < _indent_at(text, opener.offset):
            if _starts_line(text, closer.offset):
                return opener
    return scan.unclosed[-1]


def _indent_at(text: str, offset: int) -> int:
    start = text.rfind("\n", 0, offset) + 1
    line = text[start:offset + 1]
    return len(line) - len(line.lstrip(" \t"))


def _starts_line(text: str, offset: int) -> bool:
    start = text.rfind("\n", 0, offset) + 1
    return not text[start:offset].strip()


def blank_line(text: str, offset: int) -> str | None:
    """The text with the line at `offset` blanked (braces kept), or None if that cannot help."""
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    end = len(text) if end < 0 else end
    line = text[start:end]
    blanked = "".join(c if c in "{}" else " " for c in line)
    if blanked.lstrip().startswith("{"):
        first = len(blanked) - len(blanked.lstrip())
        if first == 0:
            return None
        blanked = blanked[: first - 1] + "_" + blanked[first:]
    if blanked == line:
        return None
    return text[:start] + blanked + text[end:]


def is_recoverable(diag: Diagnostic) -> bool:
    """After these, parsing the rest of the file again can find more errors."""
    if diag.code == "P004" and "multi-line" in diag.message:
        return False  # the rest of the file is inside the string: nothing more to learn
    return diag.code in ("P004", "P007", "P008") and diag.severity is Severity.ERROR
