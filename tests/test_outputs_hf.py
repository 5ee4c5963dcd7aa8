"""Outputs load with Hugging Face `datasets` (offline, from the JSONL files)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recipekit.compiler.compile import compile_file
from recipekit.runtime.engine import RunSettings
from recipekit.runtime.run import run_plan

datasets = pytest.importorskip("datasets")
ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("example", sorted((ROOT / "examples").glob("*.recipe")), ids=lambda p: p.stem)
def test_every_output_loads_with_datasets(example: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    manifest, _ = run_plan(compile_file(example).plan,
                           RunSettings(root=example.parent, run_dir=tmp_path / "run"))
    for output in manifest["outputs"]:
        path = tmp_path / "run" / output["path"]
        loaded = datasets.load_dataset("json", data_files=str(path), split="train",
                                       cache_dir=str(tmp_path / "hf-cache"))
        assert loaded.num_rows == output["rows"]
        first = json.loads(path.read_text().splitlines()[0])
        assert loaded[0] == first
        assert "messages" in loaded.column_names or {"instruction", "input", "output"} <= set(loaded.column_names)
