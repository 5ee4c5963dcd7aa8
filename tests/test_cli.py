"""The `recipekit` command as users and pre-commit call it: exit codes,
output streams, help with examples, JSON diagnostics."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from recipekit.compiler.cli import main

GOOD = """\
source rows {
  from = "rows.jsonl"
  schema {
    instruction: str
    output: str
  }
}

template t on rows {
  instruction = "{instruction}"
  output = "{output}"
}

mix train {
  t = 100%
}

output train {
  to = "train.jsonl"
}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rows.jsonl").write_text('{"instruction": "Say hi.", "output": "hi"}\n')
    (tmp_path / "good.recipe").write_text(GOOD)
    (tmp_path / "bad.recipe").write_text(GOOD.replace("t = 100%", "tt = 100%"))
    (tmp_path / "warn.recipe").write_text(GOOD + "\nfilter unused {\n  length output chars 1..9\n}\n")
    return tmp_path


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "recipekit.compiler", *args], capture_output=True, text=True)


def test_check_exit_codes(project: Path, capsys) -> None:
    assert main(["check", "good.recipe"]) == 0
    assert main(["check", "bad.recipe"]) == 1
    assert main(["check", "warn.recipe"]) == 0
    assert main(["check", "--strict", "warn.recipe"]) == 1
    assert main(["check", "missing.recipe"]) == 2
    assert main(["check", "good.recipe", "bad.recipe", "warn.recipe"]) == 1


def test_usage_errors_exit_2(project: Path) -> None:
    assert run("check").returncode == 2
    assert run("frobnicate").returncode == 2
    assert run("check", "--format", "xml", "good.recipe").returncode == 2


def test_diagnostics_go_to_stderr_in_words(project: Path) -> None:
    result = run("check", "bad.recipe")
    assert result.stdout == ""
    assert "error[N101]: no template, expansion or source named `tt`" in result.stderr
    assert "bad.recipe:15:3" in result.stderr and "did you mean `t`?" in result.stderr
    assert "Traceback" not in result.stderr


def test_json_diagnostics_validate_against_their_schema(project: Path) -> None:
    result = run("check", "--format", "json", "bad.recipe", "warn.recipe")
    schema = json.loads(resources.files("recipekit.specs").joinpath("diagnostic.schema.json").read_text())
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert {o["code"] for o in objects} == {"N101", "W103"}
    for obj in objects:
        assert not list(Draft202012Validator(schema).iter_errors(obj))


def test_compile_writes_a_plan(project: Path) -> None:
    result = run("compile", "good.recipe", "-o", "build/plan.json")
    assert result.returncode == 0, result.stderr
    plan = json.loads((project / "build" / "plan.json").read_text())
    assert plan["root"] == ".." and plan["stages"][-1]["id"] == "write:train"
    printed = run("compile", "good.recipe")
    assert json.loads(printed.stdout)["stages"] == plan["stages"]
    assert run("compile", "bad.recipe").returncode == 1


def test_explain_a_code_and_a_recipe(project: Path) -> None:
    page = run("explain", "n101")
    assert page.returncode == 0 and page.stdout.startswith("# N101: undefined-name")
    assert run("explain", "Q999").returncode == 2
    tree = run("explain", "good.recipe")
    assert tree.returncode == 0
    assert "read:rows" in tree.stdout and "[1 rows]" in tree.stdout
    assert "t      100%" in tree.stdout  # the allocation table: entry, amount, available, taken
    listing = run("explain", "--list").stdout
    assert "S006" in listing and "R215" in listing


def test_diff_names_what_changed(project: Path) -> None:
    (project / "more.recipe").write_text(GOOD.replace('"{output}"', '"Answer: {output}"'))
    result = run("diff", "good.recipe", "more.recipe")
    assert result.returncode == 0
    assert "~ render:t  params.output[0][0]: 'Answer: ' ->" not in result.stdout  # changed leaf, not the list
    assert "render:t" in result.stdout and "params.output" in result.stdout
    same = run("diff", "good.recipe", "good.recipe").stdout.splitlines()
    assert same[0] == "the plans are identical"
    assert "  reuses     read:rows, render:t, union:train" in same  # and the stage cache would reuse them


def test_init_writes_a_recipe_that_checks_and_is_formatted(project: Path) -> None:
    assert main(["init", "qa"]) == 0
    assert main(["check", "--strict", "qa.recipe"]) == 0
    assert main(["fmt", "--check", "qa.recipe"]) == 0
    assert main(["init", "qa"]) == 1  # never overwrites
    assert main(["init", "9bad"]) == 1


@pytest.mark.parametrize("command", ["check", "fmt", "compile", "explain", "diff", "init", "cache"])
def test_every_subcommand_help_shows_an_example(command: str) -> None:
    result = run(command, "--help")
    assert result.returncode == 0
    assert "examples:" in result.stdout and f"recipekit {command}" in result.stdout


def test_top_level_help_and_version() -> None:
    assert "examples:" in run("--help").stdout
    assert run("--version").stdout.startswith("recipekit ")


def test_check_imports_nothing_heavy(project: Path) -> None:
    """Principle 8: `check` runs in pre-commit on every commit."""
    code = ("import sys; from recipekit.compiler.cli import main; main(['check', 'good.recipe']); "
            "print(sorted(m for m in ('numpy', 'pyarrow', 'torch', 'ray', 'orjson', 'recipekit.runtime') "
            "if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stderr


def test_run_a_recipe_and_verify_it(project: Path) -> None:
    result = run("run", "good.recipe", "--out", "out")
    assert result.returncode == 0, result.stderr
    assert (project / "out" / "train.jsonl").read_text().count("\n") == 1
    assert "1 examples written" in result.stderr or "1 examples written" in result.stdout
    assert run("verify", "out").returncode == 0
    assert run("verify", "--rerun", "out").returncode == 0
    (project / "out" / "train.jsonl").write_text("tampered\n")
    failed = run("verify", "out")
    assert failed.returncode == 1 and "train.jsonl" in failed.stderr


def test_run_a_compiled_plan_with_a_limit(project: Path) -> None:
    (project / "rows.jsonl").write_text("".join(f'{{"instruction": "Say {i}.", "output": "{i}"}}\n' for i in range(9)))
    assert run("compile", "good.recipe", "-o", "plans/p.json").returncode == 0
    result = run("run", "plans/p.json", "--out", "out", "--limit", "4", "--quiet")
    assert result.returncode == 0, result.stderr
    assert (project / "out" / "train.jsonl").read_text().count("\n") == 4


def test_a_missing_source_file_is_an_error_at_run_time(project: Path) -> None:
    (project / "rows.jsonl").unlink()
    assert main(["check", "good.recipe"]) == 0  # only a warning for check
    result = run("run", "good.recipe", "--out", "out")
    assert result.returncode == 1
    assert "error[W101]" in result.stderr and "a run needs it" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_broken_plan_is_refused(project: Path) -> None:
    (project / "p.json").write_text('{"plan_version": "1.0", "stages": []}')
    result = run("run", "p.json")
    assert result.returncode == 1 and "does not match the plan schema" in result.stderr
    (project / "p2.json").write_text('{"plan_version": "2.0"}')
    assert "this runtime executes 1.x" in run("run", "p2.json").stderr
    (project / "p3.json").write_text("not json")
    assert "is not valid JSON" in run("run", "p3.json").stderr


def test_input_variation_runs_from_the_cli(project: Path) -> None:
    text = GOOD.replace("mix train {", "expand e from rows {\n  inputs = [\"x\"]\n}\n\nmix train {")
    (project / "x.recipe").write_text(text.replace("  t = 100%\n", "  e = 100%\n"))
    result = run("run", "x.recipe", "--out", "out", "--quiet")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in (project / "out" / "train.jsonl").read_text().splitlines()]
    assert rows and all(row["input"] == "x" for row in rows)


def test_upsampling_repeats_rows_and_both_output_paths_agree(project: Path) -> None:
    """`on_short = repeat`: 3 rows asked for 8 examples; the first output (fast path) and a
    second output of the same mix (slow path) hold the same examples, each in its own order."""
    (project / "rows.jsonl").write_text("".join(f'{{"instruction": "Say {i}.", "output": "{i}"}}\n' for i in range(3)))
    text = GOOD.replace("mix train {\n  t = 100%\n}", "mix train {\n  size = 8\n  on_short = repeat\n  t = 100%\n}")
    text += '\noutput again from train {\n  to = "again.jsonl"\n  format = messages\n}\n'
    (project / "up.recipe").write_text(text)
    assert run("run", "up.recipe", "--out", "out", "--quiet").returncode == 0
    first = [json.loads(line) for line in (project / "out" / "train.jsonl").read_text().splitlines()]
    second = [json.loads(line) for line in (project / "out" / "again.jsonl").read_text().splitlines()]
    assert len(first) == len(second) == 8
    assert sorted(r["id"] for r in first) == sorted(r["id"] for r in second)
    assert sum(r["id"].endswith(("-1", "-2")) for r in first) == 5  # 2 whole epochs + 2 more of 3 rows
    assert {r["output"] for r in first} == {"0", "1", "2"}


def test_rouge_l_near_dedup_in_a_run(project: Path) -> None:
    rows = ["Write a poem about the sea.", "Write a short poem about the sea.", "List three prime numbers."]
    (project / "rows.jsonl").write_text("".join(json.dumps({"instruction": r, "output": "x"}) + "\n" for r in rows))
    text = GOOD.replace("  t = 100%\n", "  filter = f\n  t = 100%\n")
    text += "\nfilter f {\n  dedup near on instruction rouge_l >= 0.7\n}\n"
    (project / "r.recipe").write_text(text)
    assert run("run", "r.recipe", "--out", "out", "--quiet").returncode == 0
    (reject,) = [json.loads(line) for line in (project / "out" / "rejects.jsonl").read_text().splitlines()]
    assert reject["rule"] == "near-duplicate" and "ROUGE-L F1" in reject["reason"]
    assert reject["example"]["instruction"] == rows[1]


def test_quality_ordered_output_puts_the_best_first(project: Path) -> None:
    rows = [("Explain recursion.", "x"), ("Explain recursion briefly.", "A function that calls itself on a smaller input."),
            ("Say hi.", "As an AI language model I cannot.")]
    (project / "rows.jsonl").write_text("".join(json.dumps({"instruction": i, "output": o}) + "\n" for i, o in rows))
    text = GOOD.replace("  t = 100%\n", "  filter = f\n  t = 100%\n").replace(
        'to = "train.jsonl"\n', 'to = "train.jsonl"\n  order = quality desc\n')
    text += "\nfilter f {\n  score heuristic >= 0\n}\n"
    (project / "q.recipe").write_text(text)
    assert main(["fmt", "--check", "q.recipe"]) in (0, 1)
    result = run("run", "q.recipe", "--out", "out", "--quiet")
    assert result.returncode == 0, result.stderr
    written = [json.loads(line)["output"] for line in (project / "out" / "train.jsonl").read_text().splitlines()]
    assert written[0] == rows[1][1] and written[-1] == rows[2][1]  # full score first, refusal last


def test_a_review_sample_beside_the_output(project: Path) -> None:
    (project / "rows.jsonl").write_text("".join(f'{{"instruction": "Say {i}.", "output": "{i}"}}\n' for i in range(10)))
    (project / "r.recipe").write_text(GOOD.replace('to = "train.jsonl"\n', 'to = "train.jsonl"\n  review = 3\n'))
    assert run("run", "r.recipe", "--out", "out", "--quiet").returncode == 0
    output = (project / "out" / "train.jsonl").read_text().splitlines()
    review = (project / "out" / "train.review.jsonl").read_text().splitlines()
    assert len(review) == 3 and set(review) <= set(output)
    manifest = json.loads((project / "out" / "manifest.json").read_text())
    assert [o["path"] for o in manifest["outputs"]] == ["train.jsonl", "train.review.jsonl"]
    assert run("run", "r.recipe", "--out", "again", "--quiet").returncode == 0
    assert (project / "again" / "train.review.jsonl").read_text().splitlines() == review
