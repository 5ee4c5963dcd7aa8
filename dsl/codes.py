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
    Code("P011", "nested-too-deep", "brackets or braces nested deeper than any recipe needs"),
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
    # -- N: names and references ----------------------------------------------
    Code("N101", "undefined-name", "a name that nothing declares"),
    Code("N102", "duplicate-name", "a name declared twice"),
    Code("W103", "unused-declaration", "a declaration nothing uses", "warning"),
    Code("N104", "wrong-kind", "a name of the wrong kind of declaration"),
    Code("N105", "unknown-example-field", "a filter reads a field examples do not have"),
    Code("N106", "field-missing-from-entry", "a mix needs a field (to balance on, or for agreement) "
         "that some entry's source lacks"),
    # -- T: templates and paraphrase --------------------------------------------
    Code("T301", "unknown-placeholder", "a placeholder names a field the source does not declare"),
    Code("T302", "optional-without-mark", "an optional field used without `?`"),
    Code("T303", "bad-placeholder", "a malformed placeholder or a lone brace"),
    Code("T304", "unknown-label-field", "a verbalizer for a field the source does not declare"),
    Code("T305", "label-key-type", "a verbalizer key of the wrong type"),
    Code("T306", "duplicate-label", "a verbalizer maps a value twice"),
    Code("W307", "needless-optional-mark", "`?` on a field that is always present", "warning"),
    Code("T308", "list-placeholder", "a template renders a list field"),
    Code("T310", "paraphrase-identity", "a paraphrase rule rewrites a phrase to itself"),
    Code("T311", "paraphrase-loop", "one-way paraphrase rules that loop"),
    Code("T312", "paraphrase-brace", "a paraphrase phrase that could rewrite a placeholder"),
    Code("T313", "empty-phrase", "an empty paraphrase phrase"),
    Code("T321", "not-an-instruction-source", "a source used as examples lacks instruction or output"),
    Code("T322", "missing-instance-field", "an expansion's input source lacks the input or output field"),
    # -- R: ratios, thresholds and filters ---------------------------------------
    Code("R201", "similarity-out-of-range", "a similarity threshold outside (0, 1]"),
    Code("R202", "bad-range", "a range that is empty, negative or fractional"),
    Code("R203", "threshold-out-of-range", "a score or agreement threshold outside [0, 1]"),
    Code("R204", "not-positive", "a size, cap, temperature or count that is not positive"),
    Code("R205", "bad-seed", "a seed that is not a non-negative whole number"),
    Code("R206", "bad-regex", "a regular expression that does not compile"),
    Code("R207", "bad-near-options", "near-duplicate options that do not fit together"),
    Code("R210", "share-out-of-range", "a percentage outside (0%, 100%]"),
    Code("R211", "shares-do-not-sum", "shares that do not sum to 100%"),
    Code("R212", "mixed-amount-kinds", "a mix that states amounts in two ways"),
    Code("R213", "weights-normalized", "weights are normalised into shares", "note"),
    Code("R214", "empty-mix", "a mix with no entries"),
    Code("R215", "infeasible-mix", "a mix that needs more rows than a source has"),
    Code("R217", "order-without-score", "an output ordered by quality from a mix that scores nothing"),
    Code("R218", "diversity-target-out-of-range", "a verb share or diversity target outside its domain"),
    Code("W216", "useless-size", "`size` on a mix of counts and fractions", "warning"),
    Code("W220", "filter-reordered", "filter rules written expensive-first are reordered", "warning"),
    # -- F: files and paths ----------------------------------------------------
    Code("F001", "unreadable-file", "a file cannot be read"),
    Code("W101", "missing-source-file", "a source file does not exist", "warning"),
    Code("F102", "path-outside-tree", "a path that leaves the recipe's folder"),
    Code("F103", "unknown-format", "a source whose format cannot be told"),
    Code("F104", "control-character-in-path", "a path with a tab, newline or other control character"),
    # -- B: recipekit's own bugs, reported instead of a traceback ---------------
    Code("B901", "invalid-plan", "the compiler produced a plan its schema rejects", "bug"),
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
    try:
        return page.read_text(encoding="utf-8")
    except FileNotFoundError:  # tests/test_codes.py makes sure this never ships
        return f"# {code.id}: {code.slug}\n\n{code.summary[0].upper()}{code.summary[1:]}.\n"
