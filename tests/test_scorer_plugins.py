"""Scorer plugins: Python entry points (`recipekit.scorers`) that run only when the
person running the recipe allows them by name, recorded in the manifest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

RECIPE = """\
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

filter f {
  score longish >= 0.5
}

mix train {
  filter = f
  t = 100%
}

output train {
  to = "train.jsonl"
}
"""


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, dict]:
    """A recipe, its data, and a scratch 'installed' plugin (a module plus dist-info)."""
    site = tmp_path / "site"
    (site / "longish_scorer-1.2.dist-info").mkdir(parents=True)
    (site / "longish_scorer.py").write_text(
        "def score(example):\n"
        "    words = len(example['output'].split())\n"
        "    return min(1.0, words / 4), [f'{words} words']\n")
    (site / "longish_scorer-1.2.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: longish-scorer\nVersion: 1.2\n")
    (site / "longish_scorer-1.2.dist-info" / "entry_points.txt").write_text(
        "[recipekit.scorers]\nlongish = longish_scorer:score\n")
    (tmp_path / "rows.jsonl").write_text(
        json.dumps({"instruction": "Say a lot.", "output": "one two three four five"}) + "\n"
        + json.dumps({"instruction": "Say little.", "output": "one"}) + "\n")
    (tmp_path / "p.recipe").write_text(RECIPE)
    env = dict(os.environ, PYTHONPATH=str(site))
    return tmp_path, env


def run(project: tuple[Path, dict], *args: str) -> subprocess.CompletedProcess:
    folder, env = project
    return subprocess.run([sys.executable, "-m", "recipekit.compiler", "run", "p.recipe", "--out", "out",
                           "--quiet", *args], cwd=folder, env=env, capture_output=True, text=True)


def test_a_plugin_runs_only_when_allowed(project) -> None:
    refused = run(project)
    assert refused.returncode == 1
    assert "plugins run only when allowed" in refused.stderr and "--allow-scorer longish" in refused.stderr
    folder, _ = project
    assert not (folder / "out" / "train.jsonl").exists()


def test_an_allowed_plugin_scores_and_is_recorded(project) -> None:
    result = run(project, "--allow-scorer", "longish")
    assert result.returncode == 0, result.stderr
    folder, _ = project
    written = [json.loads(line)["output"] for line in (folder / "out" / "train.jsonl").read_text().splitlines()]
    assert written == ["one two three four five"]
    (reject,) = [json.loads(line) for line in (folder / "out" / "rejects.jsonl").read_text().splitlines()]
    assert reject["rule"] == "score" and "1 words" in reject["reason"]
    manifest = json.loads((folder / "out" / "manifest.json").read_text())
    assert manifest["plugins"] == [{"name": "longish", "entry_point": "longish_scorer:score",
                                    "distribution": "longish-scorer", "version": "1.2"}]
    assert manifest["settings"]["allowed_scorers"] == ["longish"]


def test_an_unknown_scorer_is_a_plain_error(project) -> None:
    folder, _ = project
    (folder / "p.recipe").write_text(RECIPE.replace("longish", "nosuch"))
    result = run(project)
    assert result.returncode == 1 and "no scorer named `nosuch`" in result.stderr
    assert "installed plugins: longish" in result.stderr
