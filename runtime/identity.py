"""Which row and phrasing an example id stands for, from the plan alone.

An example's id is the keyed hash of (row, part, phrasing or variant indices)
under the seed of the render or expand stage that made it (runtime/render.py,
runtime/paraphrase.py). A hash does not invert, but the space is small and
countable: rows below the read stage's count (every record yields at least a
row or a reject), the one phrasing `choose = random` picks (re-derived, not
guessed), or every variant number of an expansion. So an example written
without provenance can still be traced, by hashing candidates until its id
turns up — parts in increasing order, since most records explode to few rows.
"""

from __future__ import annotations

from typing import Iterable, NamedTuple

from xxhash import xxh3_64_intdigest

from .keyed import stage_seed
from .records import IDENTITY
from .render import Renderer
from .run_files import Entry

# Hashes to try before giving up (about a second of work).
BUDGET = 2_000_000


class Identity(NamedTuple):
    entry: str
    stage: str  # the render or expand stage
    source: str
    row: int
    part: int
    indices: tuple  # (instruction, input, output) phrasings, or (variant, 0, 0)

    def key(self) -> str:
        return f"{self.source}/{self.row}/{self.part}"


class EntryKeys:
    """The ids one mix entry can produce."""

    def __init__(self, entry: Entry, seed: int, rows: int) -> None:
        self.entry = entry
        self.rows = rows  # rows in at its read stage: an upper bound on row and part numbers
        self.explodes = entry.read["params"].get("explode") is not None
        self.salt = stage_seed(seed, entry.stage["id"])
        if entry.stage["op"] == "expand":
            self.renderer, self.variants = None, entry.stage["params"]["variants"]
        else:
            self.renderer, self.variants = Renderer(entry.stage, entry.name, seed), 0

    def indices(self, row: int, part: int) -> list[tuple]:
        if self.renderer is None:
            return [(n, 0, 0) for n in range(self.variants)]
        return self.renderer.phrasings(f"{self.entry.source}/{row}/{part}")

    def ids(self, row: int, part: int) -> Iterable[tuple[int, Identity]]:
        for triple in self.indices(row, part):
            key = xxh3_64_intdigest(IDENTITY.pack(row, part, *triple), self.salt)
            yield key, Identity(self.entry.name, self.entry.stage["id"], self.entry.source, row, part, tuple(triple))


def at_row(entries: list[EntryKeys], source: str, row: int, part: int | None) -> dict[int, Identity]:
    """Every id the entries reading `source` make from one row (every part up to 64 when unknown)."""
    found = {}
    for keys in entries:
        if keys.entry.source != source:
            continue
        parts = [part] if part is not None else range(min(keys.rows, 64) if keys.explodes else 1)
        for p in parts:
            found.update(keys.ids(row, p))
    return found


def search(entries: list[EntryKeys], wanted: set[int], budget: int = BUDGET) -> dict[int, Identity]:
    """Identities of the wanted ids (integers), by enumeration; ids not found are left out."""
    found: dict[int, Identity] = {}
    left = set(wanted)
    spent = 0
    max_part = max((k.rows if k.explodes else 1 for k in entries), default=0)
    for part in range(max_part):
        for keys in entries:
            if part and not keys.explodes:
                continue
            for row in range(keys.rows):
                for key, identity in keys.ids(row, part):
                    spent += 1
                    if key in left:
                        found[key] = identity
                        left.discard(key)
                if not left or spent > budget:
                    return found
    return found
