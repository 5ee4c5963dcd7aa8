"""The registry of diagnostic codes.

Codes are stable: once published, an id is never reused or removed (a retired
code keeps its entry with `retired=True` and its explanation page). The letter
names the phase: P syntax, S structure (what a block may contain), N names,
T templates and paraphrase, R ratios, thresholds and filters, F files and
paths, L lowering, B recipekit's own bugs. Each code has a page,
`dsl/explanations/<ID>.md`, printed by `recipekit explain ID` and collected
into docs/diagnostics.md.
"""

from __future__ import annotations

from importlib import resources

import attrs


@attrs.frozen
class Code:
    id: str
    slug: str
    summary: str
    severity: str = "error"
    retired: bool = False


_ALL = (
    # -- P: reading and parsing the text -------------------------------------
    Code("P001", "empty-file", "the file declares nothing"),
    Code("P002", "not-utf8", "the file is not UTF-8 text"),
    Code("P003", "binary-file", "the file is binary, not a recipe"),
    Code("P004", "unterminated-string", "a string is not closed"),
    Code("P005", "unclosed-bracket", "a bracket or brace is never closed"),
    Code("P006", "unmatched-closing", "a closing bracket matches nothing"),
    Code("P007", "unexpected-character", "a character that is not part of the language"),
    Code("P008", "unexpected-token", "the text does not fit the syntax here"),
    Code("P009", "unexpected-end", "the file ends in the middle of an item"),
    Code("P010", "invalid-escape", "a string has an unknown escape sequence"),
    # -- S: what a block may contain ------------------------------------------
    Code("S001", "unknown-block", "not a kind of block"),
    Code("S002", "glued-keyword", "a keyword is glued to the name after it"),
    Code("S003", "bad-block-header", "a block header is missing a part or has extra words"),
    Code("S004", "unknown-attribute", "an attribute this block does not have"),
    Code("S005", "duplicate-attribute", "an attribute is set twice"),
    Code("S006", "wrong-value", "a value of the wrong kind"),
    Code("S007", "missing-attribute", "a required attribute is missing"),
    Code("S008", "unknown-option", "a value that is not one of the allowed words"),
    Code("S009", "unknown-rule", "a rule word this block does not know"),
    Code("S010", "malformed-rule", "a rule whose words do not fit its shape"),
    Code("S011", "misplaced-item", "an item that does not belong in this block"),
    Code("S012", "unknown-type", "a field type that does not exist"),
    # -- F: files and paths ----------------------------------------------------
    Code("F001", "unreadable-file", "a file cannot be read"),
)

CODES: dict[str, Code] = {code.id: code for code in _ALL}


def lookup(code_id: str) -> Code:
    """The registry entry for `code_id`; an unknown id is a programming error."""
    return CODES[code_id]


def explanation(code_id: str) -> str | None:
    """The explanation page of a code, or None when the code does not exist."""
    code = CODES.get(code_id.upper())
    if code is None:
        return None
    page = resources.files("recipekit.dsl").joinpath("explanations", f"{code.id}.md")
    return page.read_text(encoding="utf-8")
