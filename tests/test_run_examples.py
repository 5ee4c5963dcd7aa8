"""End to end on every example: reproducible bytes whatever the batch size,
every row accounted for, a manifest that validates and verifies."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from recipekit.compiler.compile import compile_file
from recipekit.runtime.engine import RunSettings
from recipekit.runtime.manifest import manifest_errors
from recipekit.runtime.run import run_plan, verify_run

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.recipe"))


def run_example(example: Path, run_dir: Path, batch_size: int = 4096) -> dict:
    plan = compile_file(example).plan
    manifest, _ = run_plan(plan, RunSettings(root=example.parent, run_dir=run_dir, batch_size=batch_size))
    return manifest


def produced(run_dir: Path, manifest: dict) -> dict[str, bytes]:
    files = {o["path"]: (run_dir / o["path"]).read_bytes() for o in manifest["outputs"]}
    files["rejects.jsonl"] = (run_dir / "rejects.jsonl").read_bytes()
    return files


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_same_bytes_whatever_the_batch_size(example: Path, tmp_path: Path) -> None:
    runs = {}
    for batch in (1, 64, 4096):
        manifest = run_example(example, tmp_path / f"b{batch}", batch)
        runs[batch] = produced(tmp_path / f"b{batch}", manifest)
    again = run_example(example, tmp_path / "again")
    assert runs[1] == runs[64] == runs[4096] == produced(tmp_path / "again", again)
    assert all(runs[1].values()), "an example should write something and reject something"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_every_row_is_accounted_for(example: Path, tmp_path: Path) -> None:
    manifest = run_example(example, tmp_path)
    assert manifest_errors(manifest) == []
    stages = {s["id"]: s for s in manifest["stages"]}
    for stage in manifest["stages"]:
        if stage["op"] not in ("render", "expand", "mix", "write", "union"):
            assert stage["rows_in"] == stage["rows_out"] + sum(stage["dropped"].values()), stage["id"]
    for read in (s for s in manifest["stages"] if s["op"] == "read"):
        assert read["rows_in"] == read["rows_out"] + sum(read["dropped"].values())
    for mix in manifest["accounting"]["mixes"]:
        assert mix["examples_in"] == mix["rejected"] + mix["unsampled"] + mix["selected"], mix
        assert stages[mix["mix"]]["rows_out"] == mix["written"]
    rejects = (tmp_path / "rejects.jsonl").read_text().splitlines()
    assert len(rejects) == manifest["rejects"]["rows"] == sum(sum(s["dropped"].values()) for s in manifest["stages"])
    for output in manifest["outputs"]:
        lines = (tmp_path / output["path"]).read_text().splitlines()
        assert len(lines) == output["rows"]
        assert all(json.loads(line)["id"] for line in lines)


def test_verify_and_rerun(tmp_path: Path) -> None:
    example = next(e for e in EXAMPLES if e.stem == "sentiment_templates")
    manifest = run_example(example, tmp_path / "run")
    assert verify_run(tmp_path / "run") == []
    assert verify_run(tmp_path / "run", rerun=True) == []
    output = tmp_path / "run" / manifest["outputs"][0]["path"]
    output.write_bytes(output.read_bytes().replace(b"positive", b"POSITIVE", 1))
    (problem,) = verify_run(tmp_path / "run")
    assert problem.what == "output" and problem.path == str(output)


def test_changed_input_is_caught_by_verify(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "examples", tmp_path / "ex")
    example = tmp_path / "ex" / "sentiment_templates.recipe"
    run_example(example, tmp_path / "run")
    data = tmp_path / "ex" / "data" / "reviews.jsonl"
    data.write_text(data.read_text() + "\n")
    (problem,) = verify_run(tmp_path / "run")
    assert problem.what == "input"


def test_the_cost_report_of_a_human_source(tmp_path: Path) -> None:
    """`cost { usd_per_hour = 30, minutes_per_example = 10 }`: 5 dollars a row."""
    example = next(e for e in EXAMPLES if e.stem == "human_demos")
    manifest = run_example(example, tmp_path)
    (cost,) = manifest["costs"]
    assert cost["source"] == "demos" and cost["rows_read"] == 30
    assert cost["usd_read"] == 150.0 and cost["usd_used"] == 5.0 * cost["rows_used"]
    assert cost["rows_used"] == manifest["accounting"]["mixes"][0]["selected"]
