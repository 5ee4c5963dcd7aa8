"""The Lark parser for recipe.lark, built once and shared.

Newlines separate items, except inside (...) and [...], where a list may span
several lines: `BracketNewlines` drops those newlines between the lexer and
the parser, the way Python's tokenizer does. Comments are collected through a
lexer callback so that the formatter can put them back.
"""

from __future__ import annotations

import functools
from typing import Iterator

import attrs
from lark import Lark, Token, Tree

_OPENERS = {"LPAR": "RPAR", "LSQB": "RSQB"}
_CLOSERS = frozenset(_OPENERS.values())


class BracketNewlines:
    """Post-lexer: no newline token inside parentheses or square brackets."""

    always_accept = ("_NL",)

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        depth = 0
        for token in stream:
            if token.type in _OPENERS:
                depth += 1
            elif token.type in _CLOSERS:
                depth = max(0, depth - 1)
            elif token.type == "_NL" and depth:
                continue
            yield token


@attrs.frozen
class Comment:
    """A `#` comment: its text and character offsets."""

    text: str
    start: int
    end: int


@attrs.frozen
class ParseResult:
    tree: Tree
    comments: tuple[Comment, ...]


@functools.lru_cache(maxsize=None)
def _lark() -> Lark:
    options = dict(
        parser="lalr",
        lexer="basic",
        propagate_positions=True,
        maybe_placeholders=False,
        postlex=BracketNewlines(),
        lexer_callbacks={"COMMENT": _comments},
    )
    try:
        # Lark caches the analysed grammar in a temp file keyed by its hash:
        # 0.15 s -> 0.004 s per process, which matters for pre-commit.
        return Lark.open_from_package("recipekit.grammar", "recipe.lark", cache=True, **options)
    except OSError:  # no writable temp dir: build it every time
        return Lark.open_from_package("recipekit.grammar", "recipe.lark", **options)


class _CommentCollector:
    """Lexer callback: Lark calls it for every COMMENT token it skips."""

    def __init__(self) -> None:
        self.tokens: list[Token] = []

    def __call__(self, token: Token) -> Token:
        self.tokens.append(token)
        return token

    def take(self) -> tuple[Comment, ...]:
        found = tuple(Comment(t.value.rstrip(), t.start_pos, t.end_pos) for t in self.tokens)
        self.tokens.clear()
        return found


# One collector per process: parsing is single-threaded, like the CLI.
_comments = _CommentCollector()


def parse(text: str) -> ParseResult:
    """Parse recipe text; raises lark.UnexpectedInput on a syntax error."""
    _comments.tokens.clear()
    try:
        tree = _lark().parse(text)
    finally:
        comments = _comments.take()
    return ParseResult(tree, comments)


def lex(text: str) -> Iterator[Token]:
    """The raw token stream (newlines included), for error analysis."""
    return _lark().lex(text, dont_ignore=False)


def parser() -> Lark:
    return _lark()
