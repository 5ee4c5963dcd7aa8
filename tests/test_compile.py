"""Lowering: plans validate, are byte-identical across compilations, keep
their golden form, and a broken plan is rejected with its JSON path."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest

from recipekit.compiler import __version__
from recipekit.compiler.compile import compile_file
from recipekit.compiler.plan_json import dumps, plan_validator, validate_plan
from recipekit.dsl.diagnostics import DiagnosticSink

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.recipe"))
GOLDEN_PLANS = Path(__file__).parent / "golden" / "plans"
UPDATE = os.environ.get("RECIPEKIT_UPDATE_GOLDENS") == "1"

STARTER = """\
source rows {
  from = "rows.jsonl"
  schema {
    instruction: str
    output: str
  }
}

template a on rows {
  instruction = ["{instruction}", "Please: {instruction}"]
  output = "{output}"
  choose = each
}

filter f {
  score heuristic >= 0.5
  dedup exact on (instruction, output) normalize (lower, whitespace)
  length output chars 1..100
}

mix train {
  a = 60%
  rows = 40%
  size = SIZE
  filter = f
}

output train {
  to = "train.jsonl"
}
"""


def write_recipe(tmp_path: Path, text: str, rows: int = 5) -> Path:
    (tmp_path / "rows.jsonl").write_text(
        "".join(json.dumps({"instruction": f"Say {i}.", "output": str(i)}) + "\n" for i in range(rows)))
    path = tmp_path / "r.recipe"
    path.write_text(text)
    return path


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_examples_compile_to_valid_identical_plans(example: Path) -> None:
    first, second = compile_file(example), compile_file(example)
    assert first.plan is not None, [str(d) for d in first.diagnostics]
    assert not list(plan_validator().iter_errors(first.plan))
    assert first.text == second.text


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_golden_plans(example: Path) -> None:
    # the tool's version changes with every release; the rest must not change by accident
    text = compile_file(example).text.replace(f'"version": "{__version__}"', '"version": "<version>"', 1)
    golden = GOLDEN_PLANS / f"{example.stem}.plan.json"
    if UPDATE or not golden.exists():
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8"), "plan changed: RECIPEKIT_UPDATE_GOLDENS=1 to accept"


def test_filters_are_lowered_cheap_first(tmp_path: Path) -> None:
    plan = compile_file(write_recipe(tmp_path, STARTER.replace("SIZE", "5"))).plan
    ops = [s["op"] for s in plan["stages"] if s["id"].startswith(("filter", "dedup", "score"))]
    assert ops == ["filter.length", "dedup.exact", "score"]
    ordered = STARTER.replace("SIZE", "5").replace("filter f {", "filter f {\n  ordered = true")
    plan = compile_file(write_recipe(tmp_path, ordered)).plan
    ops = [s["op"] for s in plan["stages"] if s["id"].startswith(("filter", "dedup", "score"))]
    assert ops == ["score", "dedup.exact", "filter.length"]


def test_stage_ids_and_dag(tmp_path: Path) -> None:
    plan = compile_file(write_recipe(tmp_path, STARTER.replace("SIZE", "5"))).plan
    ids = [s["id"] for s in plan["stages"]]
    assert ids[:4] == ["read:rows", "render:a", "render:rows", "union:train"]
    assert ids[-2:] == ["mix:train", "write:train"]
    seen = set()
    for stage in plan["stages"]:  # topological: inputs come first
        assert set(stage["inputs"]) <= seen
        seen.add(stage["id"])


def test_infeasible_mix_is_an_error_at_compile_time(tmp_path: Path) -> None:
    # `a` offers 5 rows x 2 phrasings = 10 examples; 60% of 100 needs 60
    result = compile_file(write_recipe(tmp_path, STARTER.replace("SIZE", "100")))
    assert result.plan is None
    (diag,) = [d for d in result.diagnostics if d.code == "R215"]
    assert "`a` needs 60 rows but has 10 (6.0 epochs)" in diag.message
    assert result.check.load.source.position(diag.span.start).line == 22


def test_a_hand_broken_plan_is_rejected_with_its_path(tmp_path: Path) -> None:
    plan = compile_file(write_recipe(tmp_path, STARTER.replace("SIZE", "5"))).plan
    broken = copy.deepcopy(plan)
    broken["stages"][0]["params"]["format"] = "xml"
    broken["stages"][1]["params"]["surprise"] = True
    del broken["seed"]
    sink = DiagnosticSink()
    assert not validate_plan(broken, sink)
    messages = [d.message for d in sink]
    assert all(d.code == "B901" and d.severity.value == "bug" for d in sink)
    assert any("$.stages[0].params.format" in m and "'xml' is not one of" in m for m in messages)
    assert any("$.stages[1].params" in m and "surprise" in m for m in messages)
    assert any("'seed' is a required property" in m for m in messages)


def test_plan_text_is_stable_json() -> None:
    plan = {"b": 1, "a": ["é", 2.5]}
    assert dumps(plan) == '{\n  "b": 1,\n  "a": [\n    "é",\n    2.5\n  ]\n}\n'
