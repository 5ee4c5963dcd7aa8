"""Row-local stages on worker processes give the bytes one process gives.

Every example and the corpora recipe run twice: in one process, and with two
workers forced onto every eligible entry (no size threshold, chunks of a few
hundred bytes, so that chunk boundaries fall everywhere). Outputs, rejects and
every stage's counts must agree.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from recipekit.compiler.compile import compile_file
from recipekit.runtime.engine import RunSettings
from recipekit.runtime.row_workers import spans
from recipekit.runtime.run import run_plan

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.recipe"))
CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"


def _run(recipe: Path, run_dir: Path, **options) -> tuple[dict, dict[str, bytes]]:
    plan = compile_file(str(recipe)).plan
    manifest, _ = run_plan(plan, RunSettings(root=recipe.parent, run_dir=run_dir, **options))
    files = {o["path"]: (run_dir / o["path"]).read_bytes() for o in manifest["outputs"]}
    files["rejects.jsonl"] = (run_dir / "rejects.jsonl").read_bytes()
    return manifest, files


def _counts(manifest: dict) -> list:
    return [(s["id"], s["rows_in"], s["rows_out"], s["dropped"]) for s in manifest["stages"]]


def _compare(recipe: Path, tmp_path: Path, chunk_bytes: int = 300) -> list[str]:
    serial, serial_files = _run(recipe, tmp_path / "serial", workers=1)
    parallel, parallel_files = _run(recipe, tmp_path / "parallel", workers=2, parallel_min_bytes=0,
                                    chunk_bytes=chunk_bytes)
    assert serial["settings"]["parallel_entries"] == []
    assert parallel_files.keys() == serial_files.keys()
    for name, data in serial_files.items():
        assert parallel_files[name] == data, name
    assert _counts(parallel) == _counts(serial)
    assert parallel["accounting"] == serial["accounting"]
    return parallel["settings"]["parallel_entries"]


@pytest.mark.parametrize("recipe", EXAMPLES, ids=lambda p: p.stem)
def test_examples_give_the_same_bytes_on_workers(recipe: Path, tmp_path: Path) -> None:
    _compare(recipe, tmp_path)


def test_the_examples_exercise_the_worker_path(tmp_path: Path) -> None:
    """Not vacuous: entries whose chains are row-local around one exact dedup (the mixture's
    score comes after its dedup) did run on workers; the TSV source, and chains with near
    dedup, decontamination or agreement, stayed in process."""
    used = [entry for recipe in EXAMPLES for entry in _compare(recipe, tmp_path / recipe.stem)]
    assert used == ["demos_train/demo_task", "blend/review_sentiment", "blend/demo_task", "blend/seed_task",
                    "blend/trivia_qa", "preview/trivia_qa", "preview/seed_task", "train/review_sentiment"]


RECIPE = """\
recipe workers {{
  seed = 3
}}

source rows {{
  from = "rows.jsonl"
  schema {{
    instruction: str
    input: str?
    output: str
    kind: str?
  }}
}}

template copy on rows {{
  instruction = "{{instruction}}"
  input = "{{input?}}"
  output = "{{output}}"
}}

paraphrase verbs {{
  "Say" -> "Tell"
  "Task" <-> "Job" <-> "Chore"
}}

expand more from rows {{
  paraphrase = verbs
  variants = 2
}}

filter clean {{
  length output chars 2..200
  drop instruction matches "(?i)forbidden"
  score heuristic >= 0.05
  dedup exact on (instruction, input, output) normalize (lower, whitespace)
}}

mix train {{
  filter = clean
  {balance}
  copy = 70%
  more = 30%
}}

output train {{
  to = "train.jsonl"
  format = {fmt}
  provenance = (source, row, template)
  order = quality desc
}}

output also from train {{
  to = "also.jsonl"
}}
"""


def _rows() -> list[str]:
    lines = []
    for i in range(400):
        kind = i % 10
        if kind == 0:
            lines.append('{"instruction": "broken"')  # malformed JSON: a read reject
        elif kind == 1:
            lines.append("")  # blank: neither a row nor a reject
        elif kind == 2:
            lines.append(json.dumps({"instruction": "Say hi", "output": "hi there"}))  # duplicates
        elif kind == 3:
            lines.append(json.dumps({"instruction": "Forbidden words", "output": f"no {i}"}))
        elif kind == 4:
            lines.append(json.dumps({"instruction": f"Echo {i}", "output": "x"}))  # too short
        elif kind == 5:
            lines.append(json.dumps({"instruction": 5, "output": "wrong type"}))  # schema reject
        else:
            lines.append(json.dumps({"instruction": f"  Task  {i % 37}", "input": f"in {i % 3}",
                                     "output": f"answer {i % 37} é ✓" + " more words" * (i % 4),
                                     "kind": ["a", "b", "c"][i % 3]}, ensure_ascii=False))
    return lines


@pytest.mark.parametrize("fmt, balance", [("alpaca", ""), ("messages", "balance = kind")])
@pytest.mark.parametrize("chunk_bytes", [1, 97, 4096])
def test_rejects_duplicates_and_second_outputs_on_workers(tmp_path: Path, fmt: str, balance: str,
                                                          chunk_bytes: int) -> None:
    (tmp_path / "rows.jsonl").write_text("\ufeff" + "\n".join(_rows()), encoding="utf-8")  # BOM, no final newline
    recipe = tmp_path / "workers.recipe"
    recipe.write_text(RECIPE.format(fmt=fmt, balance=balance))
    used = _compare(recipe, tmp_path, chunk_bytes)
    assert used == ["train/copy", "train/more"]
    rejects = [json.loads(line) for line in (tmp_path / "parallel" / "rejects.jsonl").read_text().splitlines()]
    assert {r["rule"] for r in rejects} >= {"json", "schema", "length", "regex", "duplicate"}


def test_small_inputs_and_limits_stay_in_process(tmp_path: Path) -> None:
    recipe = EXAMPLES[0]
    manifest, _ = _run(recipe, tmp_path / "small", workers=2)  # below the size threshold
    assert manifest["settings"]["parallel_entries"] == []
    manifest, _ = _run(recipe, tmp_path / "limit", workers=2, parallel_min_bytes=0, limit=3)
    assert manifest["settings"]["parallel_entries"] == []


@pytest.mark.corpora
@pytest.mark.skipif(not CORPORA.is_dir(), reason="needs ../shared/corpora")
def test_corpora_recipe_gives_the_same_bytes_on_workers(tmp_path: Path) -> None:
    recipe = Path(__file__).parent / "corpora" / "sst2_seeds_alpaca.recipe"
    assert _compare(recipe, tmp_path, chunk_bytes=1 << 16)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["", "a", "{}", "xyz" * 7, "\r"]), max_size=30), st.booleans(),
       st.integers(1, 40))
def test_spans_cover_the_file_at_line_starts(tmp_path_factory, lines, final_newline, chunk_bytes) -> None:
    path = tmp_path_factory.mktemp("spans") / "f.jsonl"
    data = "\n".join(lines).encode() + (b"\n" if final_newline and lines else b"")
    path.write_bytes(data)
    chunks = list(spans(path, chunk_bytes))
    assert [c[0] for c in chunks[1:]] == [c[1] for c in chunks[:-1]]  # contiguous
    if data:
        assert chunks[0][0] == 0 and chunks[-1][1] == len(data)
    for start, _end, first_row in chunks:
        assert start == 0 or data[start - 1:start] == b"\n"  # starts at a line start
        assert first_row == data[:start].count(b"\n")  # the number of that line


def test_a_worker_that_dies_is_a_run_error_not_a_traceback(tmp_path: Path, monkeypatch) -> None:
    import os
    import signal

    from recipekit.runtime import row_workers
    from recipekit.runtime.errors import RunError

    def die(pipeline, span):
        os.kill(os.getpid(), signal.SIGKILL)

    monkeypatch.setattr(row_workers._Pipeline, "run", die)  # forked workers inherit the patch
    (tmp_path / "rows.jsonl").write_text("\n".join(_rows()), encoding="utf-8")
    recipe = tmp_path / "workers.recipe"
    recipe.write_text(RECIPE.format(fmt="alpaca", balance=""))
    with pytest.raises(RunError, match="worker process .* died"):
        _run(recipe, tmp_path / "run", workers=2, parallel_min_bytes=0, chunk_bytes=500)
