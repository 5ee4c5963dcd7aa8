"""Reading a finished run directory: its manifest, plan, rejects and outputs.

The report and `recipekit why` read only what a run wrote, never the recipe or
the sources, so they work on a run directory copied to another machine. Each
mix is seen as the plan lowers it (runtime/plan_graph.py): its entries (a
render or expand stage over one read stage), its filter chain, its writes.
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import Iterator

import attrs
import orjson

from .errors import RunError
from .plan_graph import filter_chain


@attrs.frozen
class Entry:
    """One mix entry: the stage that makes its examples and the source it reads."""

    name: str
    stage: dict  # render or expand
    read: dict
    source: str


@attrs.frozen
class MixView:
    stage: dict
    union: dict
    chain: list  # filter stages, in run order
    entries: list  # Entry, in mix order
    writes: list  # write stages, the first one is the mix's primary output

    @property
    def id(self) -> str:
        return self.stage["id"]

    @property
    def name(self) -> str:
        return self.id.split(":", 1)[1]


class RunFiles:
    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        self.manifest = _load_json(self.run_dir / "manifest.json", "a run directory holds manifest.json")
        self.plan = _load_json(self.run_dir / "plan.json", "a run directory holds plan.json")
        self.stages = {s["id"]: s for s in self.plan["stages"]}
        self.stats = {s["id"]: s for s in self.manifest["stages"]}

    @cached_property
    def mixes(self) -> list[MixView]:
        return [self._mix_view(s) for s in self.plan["stages"] if s["op"] == "mix"]

    def _mix_view(self, mix: dict) -> MixView:
        union, chain = filter_chain(self.stages, mix)
        entries = []
        for name, stage_id in zip(union["params"]["entries"], union["inputs"]):
            stage = self.stages[stage_id]
            read = self.stages[stage["inputs"][0]]
            entries.append(Entry(name, stage, read, read["id"].split(":", 1)[1]))
        writes = [s for s in self.plan["stages"] if s["op"] == "write" and s["inputs"] == [mix["id"]]]
        return MixView(mix, union, chain, entries, writes)

    def mix_of_write(self, write_id: str) -> MixView:
        return next(m for m in self.mixes if any(w["id"] == write_id for w in m.writes))

    def outputs(self) -> list[dict]:
        """The manifest's outputs, without review samples (copies of lines of an output)."""
        return [o for o in self.manifest["outputs"] if o["stage"] in self.stages]

    def output_rows(self, output: dict) -> Iterator[tuple[int, dict]]:
        """(1-based line, record) of an output file."""
        yield from _jsonl(self.run_dir / output["path"])

    def rejects(self) -> Iterator[tuple[int, dict]]:
        """(1-based line, reject) of rejects.jsonl."""
        yield from _jsonl(self.run_dir / self.manifest["rejects"]["path"])


def _load_json(path: Path, hint: str) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{path} does not exist", hint=hint + " (made by `recipekit run`)") from None
    except (OSError, ValueError) as err:
        raise RunError(f"cannot read {path}: {err}") from None


def _jsonl(path: Path) -> Iterator[tuple[int, dict]]:
    try:
        handle = path.open("rb")
    except OSError as err:
        raise RunError(f"cannot read {path}: {err.strerror or err}",
                       hint="the run directory is incomplete; run the recipe again") from None
    with handle:
        for number, line in enumerate(handle, 1):
            yield number, orjson.loads(line)
