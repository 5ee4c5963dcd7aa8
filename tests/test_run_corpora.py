"""End to end on the real corpora in ../shared/corpora (see its README)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recipekit.compiler.compile import compile_file
from recipekit.runtime.engine import RunSettings
from recipekit.runtime.run import run_plan

RECIPE = Path(__file__).parent / "corpora" / "sst2_seeds_alpaca.recipe"
CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"

pytestmark = [pytest.mark.corpora,
              pytest.mark.skipif(not CORPORA.is_dir(), reason="needs ../shared/corpora")]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[dict, Path]:
    run_dir = tmp_path_factory.mktemp("corpora-run")
    result = compile_file(RECIPE)
    assert result.plan is not None, [str(d) for d in result.diagnostics]
    manifest, _ = run_plan(result.plan, RunSettings(root=RECIPE.parent, run_dir=run_dir, batch_size=512))
    return manifest, run_dir


def stage(manifest: dict, stage_id: str) -> dict:
    return next(s for s in manifest["stages"] if s["id"] == stage_id)


def test_identical_seed_files_leave_175_unique_seeds(run) -> None:
    manifest, run_dir = run
    entries = {e["name"]: e for e in manifest["mixes"][0]["entries"]}
    assert entries["self_instruct"]["available"] == 175
    assert entries["alpaca_seeds"]["available"] == 0  # every one a duplicate of the first file
    written = [json.loads(line) for line in (run_dir / "train.jsonl").read_text().splitlines()]
    seeds = [r for r in written if r["provenance"]["source"] in ("self_instruct", "alpaca_seeds")]
    assert len(seeds) == 175 and {r["provenance"]["source"] for r in seeds} == {"self_instruct"}


def test_malformed_lines_are_rejected_with_their_line_numbers(run) -> None:
    manifest, run_dir = run
    read = stage(manifest, "read:libre")
    assert (read["rows_in"], read["rows_out"], read["dropped"]) == (2294, 2280, {"json": 14})
    rejects = [json.loads(line) for line in (run_dir / "rejects.jsonl").read_text().splitlines()]
    lines = sorted(r["line"] for r in rejects if r["stage"] == "read:libre")
    assert lines == [2279, *range(2281, 2292), 2293, 2294]
    assert all(f"line {r['line']}:" in r["reason"] for r in rejects if r["stage"] == "read:libre")


def test_sst2_through_templates(run) -> None:
    manifest, run_dir = run
    assert stage(manifest, "read:sst2")["rows_out"] == 10000
    written = [json.loads(line) for line in (run_dir / "train.jsonl").read_text().splitlines()]
    sst = [r for r in written if r["provenance"]["source"] == "sst2"]
    assert len(sst) == 100
    for record in sst:
        user, answer = record["messages"][0]["content"], record["messages"][1]["content"]
        assert user.startswith(("Classify the sentiment", "Is the following review"))
        assert answer in ("positive", "negative", "The review is positive.", "The review is negative.")
        assert not user.endswith(" ")  # `{sentence|trim}` removed GLUE's trailing space


def test_the_manifest_accounts_for_every_row(run) -> None:
    manifest, _ = run
    (mix,) = manifest["accounting"]["mixes"]
    assert mix["examples_in"] == mix["rejected"] + mix["unsampled"] + mix["selected"]
    assert manifest["accounting"]["records_read"] == 10000 + 175 + 175 + 2294
