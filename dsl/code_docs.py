"""docs/diagnostics.md, generated from the code registry and the explanation pages.

    python -m recipekit.dsl.code_docs > docs/diagnostics.md

The page of each code (`dsl/explanations/<ID>.md`) is the one source: this
module adds an introduction and a table of every code, then copies the pages
in id order with their headings one level down. tests/test_codes.py checks
that the committed file is what this module renders, and that the Example and
Fix of every page do what they claim.
"""

from __future__ import annotations

import io
import json
import re
import sys

import attrs
from rich.console import Console

from .codes import CODES, Code, explanation
from .load import load_text
from .render import diagnostic_to_json, render_human

# What the letter of a code says: the phase that reports it.
PHASES = {
    "P": "syntax: reading and parsing the text",
    "S": "structure: what each block may contain",
    "N": "names: every reference resolves, to the right kind of block",
    "T": "templates and paraphrase rules",
    "R": "ratios, thresholds and filters",
    "F": "files and paths",
    "L": "lowering the checked recipe to a plan",
    "W": "warnings: likely mistakes that do not stop a build",
    "B": "bugs in recipekit itself, reported instead of a traceback",
}

# The diagnostic shown under "Reading a diagnostic", rendered for real.
SAMPLE_NAME = "reviews.recipe"
SAMPLE = 'source reviews {\n  from = "data/reviews.jsonl"\n  format = jsonlines\n}\n'

_FENCE = re.compile(r"^(`{3,})(.*)$")


@attrs.frozen
class Snippet:
    """A fenced block of a page: ```` ```recipe no-final-newline ````."""

    language: str
    flags: tuple[str, ...]
    body: str  # the lines between the fences, each with its line break

    @property
    def text(self) -> str:
        """The recipe text the snippet stands for."""
        if "no-final-newline" in self.flags:
            return self.body.removesuffix("\n")
        return self.body


def section_snippet(page: str, section: str) -> Snippet | None:
    """The first fenced block under the `## section` heading of a page."""
    in_section, fence, info, body = False, None, "", []
    for line in page.splitlines(keepends=True):
        match = _FENCE.match(line.rstrip("\n"))
        if fence is not None:
            if match and match.group(1) == fence and not match.group(2).strip():
                if in_section:
                    words = info.split()
                    return Snippet(words[0] if words else "", tuple(words[1:]), "".join(body))
                fence = None
            elif in_section:
                body.append(line)
        elif match:
            fence, info, body = match.group(1), match.group(2).strip(), []
        elif line.startswith("## "):
            in_section = line[3:].strip() == section
    return None


def page_title(page: str) -> str:
    return page.split("\n", 1)[0]


# -- the document ------------------------------------------------------------


def render_diagnostics_doc() -> str:
    codes = sorted(CODES.values(), key=lambda code: code.id)
    parts = [_INTRO, _letters(), _reading(), _json_view(), _table(codes)]
    parts.extend(_page(code) for code in codes)
    return "\n".join(parts)


_INTRO = """\
# Diagnostics

<!-- Generated from dsl/codes.py and dsl/explanations/ by
     `python -m recipekit.dsl.code_docs > docs/diagnostics.md`; do not edit. -->

Every problem `recipekit check` finds is a diagnostic with a stable code, such
as `S006`. A code never changes its meaning and is never reused; a code that
recipekit no longer reports keeps its page. `recipekit explain S006` prints the
page of a code, `recipekit explain --list` lists them all. A run reports every
problem it can find, not only the first one.
"""


def _letters() -> str:
    rows = [f"| `{letter}` | {what} |" for letter, what in PHASES.items()]
    return "## The letter of a code\n\nThe letter says which phase reports it.\n\n" \
        "| Letter | Phase |\n|---|---|\n" + "\n".join(rows) + "\n"


def _sample_diagnostics():
    loaded = load_text(SAMPLE, SAMPLE_NAME)
    return loaded.diagnostics, {SAMPLE_NAME: loaded.source}


def _reading() -> str:
    diagnostics, sources = _sample_diagnostics()
    console = Console(record=True, width=80, color_system=None, force_terminal=False, file=io.StringIO())
    render_human(diagnostics, sources, console)
    shown = console.export_text().rstrip("\n")
    return f"""\
## Reading a diagnostic

For this recipe, saved as `{SAMPLE_NAME}`:

```recipe
{SAMPLE.rstrip()}
```

`recipekit check {SAMPLE_NAME}` prints:

```text
{shown}
```

- The first line holds the severity (`error`, `warning`, or `bug` for a fault
  of recipekit itself), the code in brackets, and the message.
- `┌─` gives the file, line and column where the problem starts.
- The source lines follow as written, with `^` under the text at fault and a
  short label after it; `-` marks related text, such as the first of two
  settings.
- `= note:` lines add context, and `= hint:` suggests a fix.

A check exits with status 0 when it finds no error, 1 when it finds errors
(or warnings, with `--strict`), and 2 when a file cannot be read at all.
"""


def _json_view() -> str:
    diagnostics, sources = _sample_diagnostics()
    shown = "\n".join(json.dumps(diagnostic_to_json(d, sources), indent=2, ensure_ascii=False) for d in diagnostics)
    return f"""\
## Diagnostics for tools: `--format json`

`recipekit check --format json FILE...` writes JSON Lines to standard output:
one object per diagnostic, on one line, described by
`specs/diagnostic.schema.json`. Lines and columns count from 1; `offset`
counts characters from 0; `end` is exclusive. The diagnostic above reads
(spread over several lines here):

```json
{shown}
```
"""


def _table(codes: list[Code]) -> str:
    rows = [
        f"| [{c.id}](#{_anchor(c)}) | `{c.slug}` | {c.severity}{' (retired)' if c.retired else ''} | {c.summary} |"
        for c in codes
    ]
    header = "## All codes\n\nThe page of each code follows the table, in the same order.\n\n"
    return header + "| Code | Name | Severity | Summary |\n|---|---|---|---|\n" + "\n".join(rows) + "\n"


def _anchor(code: Code) -> str:
    """The anchor GitHub gives the heading `S006: wrong-value`."""
    return re.sub(r"[^a-z0-9 _-]", "", f"{code.id}: {code.slug}".lower()).replace(" ", "-")


def _page(code: Code) -> str:
    page = explanation(code.id) or f"# {code.id}: {code.slug}\n\n{code.summary}.\n"
    lines, fence = [], None
    for line in page.rstrip("\n").split("\n"):
        match = _FENCE.match(line)
        if match and (fence is None or match.group(1) == fence):
            fence = match.group(1) if fence is None else None
        elif fence is None and line.startswith("#"):
            line = "#" + line  # one level down: the page becomes a section
        lines.append(line)
        if code.retired and len(lines) == 1:
            lines += ["", "*Retired: recipekit no longer reports this code.*"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render_diagnostics_doc())
