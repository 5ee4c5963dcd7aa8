"""Test-wide setup: `tests/` on sys.path, so that test modules can `import strategies`
(the hypothesis strategies for random recipes) under pytest's importlib import mode;
and a stage cache of its own for every test, so that `recipekit run` in a test
neither reads nor fills the cache of the person running the tests."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(autouse=True)
def _own_stage_cache(tmp_path_factory, monkeypatch) -> None:
    monkeypatch.setenv("RECIPEKIT_CACHE_DIR", str(tmp_path_factory.mktemp("stage-cache")))
