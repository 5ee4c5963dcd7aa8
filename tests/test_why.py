"""`recipekit why`: every output row and every reject of a run has a lineage, and the
lineage agrees with the run: a written example passes every filter when the rules
are re-evaluated on it, a reject passed the stages before the one that dropped it,
and the identity derived from an id is the one the provenance records."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import run_recipes
from recipekit.compiler.cli import main
from recipekit.runtime.errors import RunError
from recipekit.runtime.example_text import texts_of
from recipekit.runtime.lineage import Why, parse_query

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.recipe"))
CORPORA_RECIPE = ROOT / "tests" / "corpora" / "sst2_seeds_alpaca.recipe"
CORPORA = ROOT.parent / "shared" / "corpora"


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("why-runs")
    found = {recipe.stem: run_recipes.run_recipe(recipe, base / recipe.stem) for recipe in EXAMPLES}
    found["votes"] = run_recipes.run_recipe(run_recipes.write_votes(base / "votes-src"), base / "votes")
    found["edge"] = run_recipes.run_recipe(run_recipes.write_edge(base / "edge-src"), base / "edge")
    return found


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def query_of(reject: dict) -> str:
    """What a person would ask about a reject: its example id, or its source row."""
    if reject.get("example"):
        return reject["example"]["id"]
    if reject["rule"] == "unsampled":
        return reject["value"]
    return f"{reject['source']}/{reject['row']}" + (f"/{reject['part']}" if reject.get("part") is not None else "")


def check_every_row(run_dir: Path) -> None:
    manifest = json.loads((run_dir / "manifest.json").read_text())
    outputs = [(o, lines(run_dir / o["path"])) for o in manifest["outputs"] if "#" not in o["stage"]]
    rejects = lines(run_dir / "rejects.jsonl")
    queries = {r["id"].split("-")[0] for _, records in outputs for r in records} | {query_of(r) for r in rejects}
    answers = Why(run_dir).answer(sorted(queries))
    for output, records in outputs:
        for number, record in enumerate(records, 1):
            check_written(answers[record["id"].split("-")[0]], output, number, record)
    for reject in rejects:
        check_rejected(answers[query_of(reject)], reject)


def check_written(matches: list[dict], output: dict, line: int, record: dict) -> None:
    (match,) = [m for m in matches if {"path": output["path"], "line": line, "id": record["id"]} in m["written_to"]]
    assert match["status"] == "written" and match["rejected_at"] is None
    assert all(step["verdict"] == "pass" for step in match["steps"]), match["steps"]
    ops = [step["op"] for step in match["steps"]]
    assert ops[:2] in (["read", "render"], ["read", "expand"]) and "mix" in ops and ops[-1] == "write"
    identity, prov = match["identity"], record.get("provenance") or {}
    for field in ("source", "row", "part", "template", "paraphrase", "parent"):
        if field in prov:
            assert identity[field] == prov[field], (field, identity, prov)
    if "phrasing" in prov:
        assert identity["phrasing"] == prov["phrasing"]
    texts = texts_of(record)
    if texts["split"] in ("fields", "hash"):
        assert {k: match["example"][k] for k in ("instruction", "input", "output")} == \
            {k: texts[k] for k in ("instruction", "input", "output")}


def check_rejected(matches: list[dict], reject: dict) -> None:
    found = [m for m in matches if m["rejected_at"] == reject["stage"]]
    assert found, (reject, matches)
    match = found[0]
    steps = match["steps"]
    drop = next(n for n, step in enumerate(steps) if step["verdict"] == "drop")
    assert steps[drop]["stage"] == reject["stage"] and steps[drop]["reason"] == reject["reason"]
    assert all(step["verdict"] == "pass" for step in steps[:drop]), steps
    assert drop == len(steps) - 1  # nothing after the stage that dropped it
    if match["identity"] is not None and reject.get("source") is not None:
        assert (match["identity"]["source"], match["identity"]["row"]) == (reject["source"], reject["row"])
    if reject["rule"] == "near-duplicate":
        (cluster,) = [c for c in match["clusters"] if c["stage"] == reject["stage"]]
        assert cluster["kept"] == reject["value"]["kept"]
        assert reject["example"]["id"] in {m["id"] for m in cluster["members"]}


@pytest.mark.parametrize("name", [p.stem for p in EXAMPLES] + ["votes", "edge"])
def test_why_answers_every_output_row_and_reject(runs, name: str) -> None:
    check_every_row(runs[name])


@pytest.mark.corpora
@pytest.mark.skipif(not CORPORA.is_dir(), reason="needs ../shared/corpora")
def test_why_answers_every_row_of_the_corpora_run(tmp_path: Path) -> None:
    check_every_row(run_recipes.run_recipe(CORPORA_RECIPE, tmp_path / "run"))


def test_an_output_without_provenance_is_traced_by_its_id(runs) -> None:
    """preview.jsonl has no provenance; its ids are found by enumerating the plan's identities,
    and agree with what train.jsonl (with provenance) says of the same examples."""
    run_dir = runs["mixture"]
    sources = {r["provenance"]["source"] for r in lines(run_dir / "out/mixture/train.jsonl")}
    provenance = {r["id"]: r["provenance"] for r in lines(run_dir / "out/mixture/train.jsonl")}
    preview = [r["id"] for r in lines(run_dir / "out/mixture/preview.jsonl")]
    answers = Why(run_dir).answer(preview)
    shared = 0
    for example_id in preview:
        (match,) = [m for m in answers[example_id] if m["mix"] == "mix:preview"]
        assert match["identity"]["source"] in sources
        if example_id in provenance:
            shared += 1
            prov = provenance[example_id]
            assert (match["identity"]["source"], match["identity"]["row"], match["identity"]["template"]) == \
                (prov["source"], prov["row"], prov["template"])
    assert shared > 0


def test_exact_duplicates_name_their_kept_example(runs) -> None:
    run_dir = runs["human_demos"]
    (duplicate,) = [r for r in lines(run_dir / "rejects.jsonl") if r["rule"] == "duplicate"]
    why = Why(run_dir)
    (match,) = why.answer([duplicate["example"]["id"]])[duplicate["example"]["id"]]
    (cluster,) = [c for c in match["clusters"] if c["kind"] == "exact"]
    kept = cluster["kept"]
    assert kept is not None and kept != duplicate["example"]["id"]
    (kept_match,) = why.answer([kept])[kept]
    (kept_cluster,) = kept_match["clusters"]
    assert kept_cluster["kept"] == kept and duplicate["example"]["id"] in {m["id"] for m in kept_cluster["members"]}


def test_queries_are_parsed_or_refused() -> None:
    assert parse_query("880C1BFCC1F3D813-2") == ("880c1bfcc1f3d813", None)
    assert parse_query("libre/2278") == (None, ("libre", 2278, None))
    assert parse_query("seeds/3/1") == (None, ("seeds", 3, 1))
    with pytest.raises(RunError, match="neither an example id nor a source row"):
        parse_query("not an id")


def recipekit(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_command_line(runs, capsys) -> None:
    run_dir = runs["seed_expansion"]
    near = next(r for r in lines(run_dir / "rejects.jsonl") if r["rule"] == "near-duplicate")
    code, out, err = recipekit(capsys, "why", str(run_dir), near["example"]["id"])
    assert code == 0, err
    assert f"rejected at {near['stage']}" in out and "✗ dedup near on" in out and "✓ length instruction" in out
    assert "expanded from seeds/" in out and "rules:" in out and near["value"]["kept"] in out
    code, out, _ = recipekit(capsys, "why", "--json", str(run_dir), near["example"]["id"])
    assert code == 0 and json.loads(out)[near["example"]["id"]][0]["rejected_at"] == near["stage"]
    code, _, err = recipekit(capsys, "why", str(run_dir), "0123456789abcdef")
    assert code == 1 and "error: no output row or reject" in err and "hint:" in err
    code, _, err = recipekit(capsys, "why", str(run_dir), "what?")
    assert code == 2 and "neither an example id nor a source row" in err
    code, _, err = recipekit(capsys, "why", str(run_dir / "nope"), "0123456789abcdef")
    assert code == 2 and "manifest.json does not exist" in err


def test_no_traceback_from_the_real_command(runs) -> None:
    """One subprocess, as a person runs it: an unknown id is an error with a hint."""
    command = [sys.executable, "-m", "recipekit.compiler", "why", str(runs["mixture"]), "feedfacefeedface"]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 1 and "hint:" in result.stderr and "Traceback" not in result.stderr
