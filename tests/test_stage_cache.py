"""The stage cache: reuse what did not change, recompute what did, survive SIGKILL.

Every comparison is against a run without the cache: a run that reuses
stages must write the same outputs, rejects and counts as one that computed
them all.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from recipekit.compiler.cli import main
from recipekit.compiler.compile import compile_file
from recipekit.runtime.engine import RunSettings
from recipekit.runtime.run import run_plan
from recipekit.runtime.stage_cache import StageCache

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.recipe"))

RECIPE = """\
recipe cached {{
  seed = 11
}}

source small {{
  from = "small.jsonl"
  schema {{
    instruction: str
    output: str
  }}
}}

source big {{
  from = "big.jsonl"
  schema {{
    question: str
    answer: str
  }}
}}

template ask on big {{
  instruction = ["Answer: {{question}}", "Please answer: {{question}}"]
  output = "{{answer}}"
}}

filter clean {{
  length output chars 1..200
  drop instruction matches "(?i)skip"
  dedup exact on (instruction, output) normalize (lower, whitespace)
}}

mix train {{
  filter = clean
  small = {small}%
  ask = {ask}%
}}

output train {{
  to = "train.jsonl"
}}
"""


def _data(folder: Path, big_rows: int = 300) -> None:
    small = [{"instruction": f"Do task {i % 40}", "output": f"done {i % 40}"} for i in range(120)]
    small += [{"instruction": "Skip me", "output": "x"}]
    (folder / "small.jsonl").write_text("".join(json.dumps(r) + "\n" for r in small))
    with (folder / "big.jsonl").open("w") as out:
        for i in range(big_rows):
            out.write(json.dumps({"question": f"what is {i % 997} plus {i % 13}?", "answer": str(i % 997 + i % 13)})
                      + "\n")


def _recipe(folder: Path, small: int = 30, ask: int = 70) -> Path:
    path = folder / "cached.recipe"
    path.write_text(RECIPE.format(small=small, ask=ask))
    return path


def _run(recipe: Path, run_dir: Path, cache: Path | None) -> tuple[dict, dict[str, bytes]]:
    plan = compile_file(str(recipe)).plan
    manifest, _ = run_plan(plan, RunSettings(root=recipe.parent, run_dir=run_dir, cache_dir=cache, workers=1))
    files = {o["path"]: (run_dir / o["path"]).read_bytes() for o in manifest["outputs"]}
    files["rejects.jsonl"] = (run_dir / "rejects.jsonl").read_bytes()
    return manifest, files


def _status(manifest: dict) -> dict[str, str]:
    return {s["id"]: s["cache"] for s in manifest["stages"]}


def _counts(manifest: dict) -> list:
    return [(s["id"], s["rows_in"], s["rows_out"], s["dropped"]) for s in manifest["stages"]]


def _same_as_uncached(recipe: Path, tmp: Path, manifest: dict, files: dict) -> None:
    plain, plain_files = _run(recipe, tmp / "uncached", None)
    assert files == plain_files
    assert _counts(manifest) == _counts(plain)
    assert manifest["accounting"] == plain["accounting"]


def test_changing_only_the_mix_ratio_reuses_reading_filtering_and_dedup(tmp_path: Path) -> None:
    _data(tmp_path)
    cache = tmp_path / "cache"
    first, _ = _run(_recipe(tmp_path), tmp_path / "one", cache)
    assert set(_status(first).values()) == {"computed"}
    recipe = _recipe(tmp_path, small=60, ask=40)
    second, files = _run(recipe, tmp_path / "two", cache)
    status = _status(second)
    for stage in ("read:small", "read:big", "render:ask", "union:train", "filter.length:train/clean/0",
                  "filter.regex:train/clean/1", "dedup.exact:train/clean/2"):
        assert status[stage] == "reused", stage
    assert status["mix:train"] == status["write:train"] == "computed"
    _same_as_uncached(recipe, tmp_path, second, files)


def test_new_shares_with_repeats_and_several_outputs_give_the_uncached_bytes(tmp_path: Path) -> None:
    """The mixture example upsamples (`on_short = repeat`) and writes two outputs of one
    mix: new weights, reused pools, the bytes of a run without the cache."""
    example = next(p for p in EXAMPLES if p.stem == "mixture")
    folder = tmp_path / "example"
    folder.mkdir()
    for item in example.parent.iterdir():
        (folder / item.name).symlink_to(item)
    cache = tmp_path / "cache"
    _run(folder / example.name, tmp_path / "one", cache)
    text = example.read_text()
    changed = folder / "changed.recipe"
    changed.write_text(text.replace("size = 100", "size = 140").replace("demo_task = 2", "demo_task = 5"))
    manifest, files = _run(changed, tmp_path / "two", cache)
    assert _status(manifest)["union:blend"] == "reused"
    assert _status(manifest)["mix:blend"] == "computed"
    assert any(e["epochs"] and e["epochs"] > 1 for m in manifest["mixes"] for e in m["entries"])  # repeats
    _same_as_uncached(changed, tmp_path, manifest, files)


def test_a_cached_mix_spill_is_saved_in_output_order(tmp_path: Path) -> None:
    """So that a run from the cache copies the chosen lines out in runs, with no sort."""
    import numpy as np

    _data(tmp_path, big_rows=2000)
    cache = tmp_path / "cache"
    _run(_recipe(tmp_path), tmp_path / "one", cache)
    (mix,) = [e for e in StageCache(cache).entries() if e.kind == "mix"]
    assert json.loads((mix.path / "state.json").read_text())["in_order"] is True
    lines = 0
    with np.load(mix.path / "arrays.npz") as arrays:
        for number in range(64):
            keys, pools, indices = (arrays[f"b{number}.{name}"] for name in ("keys", "pools", "indices"))
            assert list(zip(keys, pools, indices)) == sorted(zip(keys, pools, indices))
            data = (mix.path / f"ordered-{number:02d}.jsonl").read_bytes()
            assert [len(line) for line in data.splitlines(keepends=True)] == arrays[f"b{number}.lengths"].tolist()
            lines += len(keys)
    assert lines == _run(_recipe(tmp_path), tmp_path / "two", None)[0]["stages"][-2]["rows_in"]  # every pooled line
    assert not list((cache / "tmp").iterdir())  # the unsorted copies are gone


def test_an_output_that_cannot_be_written_is_an_error_and_caches_nothing_partial(tmp_path: Path,
                                                                                 capsys) -> None:
    _data(tmp_path)
    recipe, cache = _recipe(tmp_path), tmp_path / "cache"
    (tmp_path / "out" / "train.jsonl" / "in-the-way").mkdir(parents=True)  # a directory where the output goes
    assert main(["run", str(recipe), "--out", str(tmp_path / "out"), "--quiet", "--cache-dir", str(cache)]) == 1
    said = capsys.readouterr().err
    assert "error: Is a directory" in said and "train.jsonl" in said and "Traceback" not in said
    assert not list((cache / "tmp").iterdir())
    assert [e.kind for e in StageCache(cache).entries()] == ["entry", "entry"]  # the mix waits for its write
    (tmp_path / "rejects" / "rejects.jsonl" / "in-the-way").mkdir(parents=True)  # fails after the outputs
    assert main(["run", str(recipe), "--out", str(tmp_path / "rejects"), "--quiet", "--cache-dir", str(cache)]) == 1
    assert "rejects.jsonl" in capsys.readouterr().err
    assert not list((cache / "tmp").iterdir())
    assert [e.kind for e in StageCache(cache).entries()] == ["entry", "entry"]  # a failed run saves no mix
    assert main(["run", str(recipe), "--out", str(tmp_path / "file"), "--quiet",
                 "--cache-dir", str(tmp_path / "small.jsonl")]) == 1  # a cache that is a file
    assert "error: " in capsys.readouterr().err


def test_entries_on_worker_processes_are_cached_through_their_mix(tmp_path: Path) -> None:
    """Entries read on worker processes come back as columns, not examples: their mix
    is cached (a new ratio reuses it), the entries themselves are not."""
    _data(tmp_path, big_rows=3000)
    cache = tmp_path / "cache"

    def run(recipe: Path, name: str) -> tuple[dict, dict]:
        plan = compile_file(str(recipe)).plan
        settings = RunSettings(root=tmp_path, run_dir=tmp_path / name, cache_dir=cache, workers=2,
                               parallel_min_bytes=0, chunk_bytes=4096)
        manifest, _ = run_plan(plan, settings)
        files = {o["path"]: (tmp_path / name / o["path"]).read_bytes() for o in manifest["outputs"]}
        files["rejects.jsonl"] = (tmp_path / name / "rejects.jsonl").read_bytes()
        return manifest, files

    cold, _ = run(_recipe(tmp_path), "cold")
    assert cold["settings"]["parallel_entries"]  # the workers did run
    assert [e.kind for e in StageCache(cache).entries()] == ["mix"]
    recipe = _recipe(tmp_path, small=60, ask=40)
    warm, files = run(recipe, "warm")
    assert _status(warm)["read:big"] == _status(warm)["dedup.exact:train/clean/2"] == "reused"
    _same_as_uncached(recipe, tmp_path, warm, files)


def test_one_changed_byte_recomputes_exactly_that_sources_stages(tmp_path: Path) -> None:
    _data(tmp_path)
    cache = tmp_path / "cache"
    recipe = _recipe(tmp_path)
    _run(recipe, tmp_path / "one", cache)
    data = bytearray((tmp_path / "big.jsonl").read_bytes())
    data[data.index(b"plus 1?")+5] = ord("2")  # one byte, same path, same size
    (tmp_path / "big.jsonl").write_bytes(bytes(data))
    manifest, files = _run(recipe, tmp_path / "two", cache)
    status = _status(manifest)
    assert status["read:big"] == status["render:ask"] == "computed"
    assert status["read:small"] == "reused"  # the other source: untouched
    assert status["dedup.exact:train/clean/2"] == "computed"  # downstream of the change
    _same_as_uncached(recipe, tmp_path, manifest, files)


@pytest.mark.parametrize("recipe", EXAMPLES, ids=lambda p: p.stem)
def test_examples_from_the_cache_give_the_same_bytes(recipe: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    _run(recipe, tmp_path / "cold", cache)
    warm, files = _run(recipe, tmp_path / "warm", cache)
    reused = {s for s, v in _status(warm).items() if v == "reused"}
    assert any(s.startswith("read:") for s in reused) and any(s.startswith("union:") for s in reused)
    assert all(s.split(":")[0] in ("mix", "write") for s, v in _status(warm).items() if v == "computed")
    _same_as_uncached(recipe, tmp_path, warm, files)


def test_a_run_killed_by_sigkill_leaves_nothing_in_place_and_resumes(tmp_path: Path) -> None:
    _data(tmp_path, big_rows=60_000)  # a second of work after the small entry is cached
    recipe = _recipe(tmp_path)
    cache, run_dir = tmp_path / "cache", tmp_path / "run"
    command = [sys.executable, "-m", "recipekit.compiler", "run", str(recipe), "--out", str(run_dir),
               "--quiet", "--workers", "1", "--cache-dir", str(cache)]
    process = subprocess.Popen(command)
    deadline = time.monotonic() + 60
    while not list(cache.glob("??/*/entry.json")):  # the first entry is in place: kill mid-run
        assert process.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not (run_dir / "train.jsonl").exists() and not (run_dir / "manifest.json").exists()
    assert len(StageCache(cache).entries()) == 1  # only what finished; the rest is scratch

    assert main([*command[3:]]) == 0  # again, to the end
    manifest = json.loads((run_dir / "manifest.json").read_text())
    status = _status(manifest)
    assert status["read:small"] == "reused" and status["read:big"] == "computed"
    files = {"train.jsonl": (run_dir / "train.jsonl").read_bytes(),
             "rejects.jsonl": (run_dir / "rejects.jsonl").read_bytes()}
    _same_as_uncached(recipe, tmp_path, manifest, files)


def test_two_runs_at_once_share_one_cache(tmp_path: Path) -> None:
    _data(tmp_path, big_rows=20_000)
    recipe = _recipe(tmp_path)
    cache = tmp_path / "cache"
    runs = [subprocess.Popen([sys.executable, "-m", "recipekit.compiler", "run", str(recipe), "--out",
                              str(tmp_path / f"run{n}"), "--quiet", "--cache-dir", str(cache)]) for n in range(2)]
    assert [p.wait() for p in runs] == [0, 0]
    assert (tmp_path / "run0" / "train.jsonl").read_bytes() == (tmp_path / "run1" / "train.jsonl").read_bytes()
    third, files = _run(recipe, tmp_path / "run2", cache)
    assert "reused" in _status(third).values()
    _same_as_uncached(recipe, tmp_path, third, files)


def test_cli_cache_flags_ls_gc_and_the_diff_forecast(tmp_path: Path, capsys) -> None:
    _data(tmp_path)
    recipe = _recipe(tmp_path)
    cache = str(tmp_path / "cache")
    assert main(["run", str(recipe), "--out", str(tmp_path / "a"), "--quiet", "--no-cache", "--cache-dir", cache]) == 0
    assert "cache" not in json.loads((tmp_path / "a" / "manifest.json").read_text())["stages"][0]
    assert not StageCache(Path(cache)).entries()
    assert main(["run", str(recipe), "--out", str(tmp_path / "b"), "--quiet", "--cache-dir", cache]) == 0
    capsys.readouterr()
    assert main(["cache", "ls", "--cache-dir", cache]) == 0
    listing = capsys.readouterr().out
    assert "mix train" in listing and "entry ask" in listing
    changed = tmp_path / "changed.recipe"
    changed.write_text(RECIPE.format(small=50, ask=50))
    assert main(["diff", str(recipe), str(changed), "--format", "json"]) == 0
    forecast = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert "dedup.exact:train/clean/2" in forecast["reused"] and "mix:train" in forecast["computed"]
    assert main(["cache", "gc", "--max-size", "1K", "--cache-dir", cache]) == 0
    assert len(StageCache(Path(cache)).entries()) <= 1
    assert main(["cache", "gc", "--all", "--cache-dir", cache]) == 0
    assert not StageCache(Path(cache)).entries()
    assert main(["cache", "gc", "--cache-dir", cache]) == 2  # says what to remove


def test_gc_by_age_keeps_recent_entries(tmp_path: Path) -> None:
    cache = StageCache(tmp_path)
    for key in ("aa" * 16, "bb" * 16):
        scratch = cache.begin()
        (scratch / "data").write_bytes(b"x" * 100)
        cache.commit(scratch, key, "mix", key[:2])
    old = time.time() - 10 * 86400
    os.utime(tmp_path / "aa" / ("aa" * 16), (old, old))
    removed = cache.gc(older_than=7 * 86400)
    assert [e.key for e in removed] == ["aa" * 16]
    assert [e.key for e in cache.entries()] == ["bb" * 16]


def test_a_damaged_cache_entry_is_a_run_error(tmp_path: Path) -> None:
    from recipekit.runtime.errors import RunError

    _data(tmp_path)
    recipe, cache = _recipe(tmp_path), tmp_path / "cache"
    _run(recipe, tmp_path / "one", cache)
    for state in cache.glob("??/*/state.json"):
        state.write_text("{" + "x" * (state.stat().st_size - 1))  # not JSON, the same size
    with pytest.raises(RunError, match="damaged"):
        _run(recipe, tmp_path / "two", cache)


@pytest.mark.parametrize("victim", ["ordered-*.jsonl", "changes.json", "examples.jsonl", "arrays.npz"])
def test_an_entry_cut_short_by_a_crash_is_computed_again(victim: str, tmp_path: Path) -> None:
    """Entries are not fsynced: after a crash a file can be shorter than it was. The
    sizes in entry.json show it; the run recomputes that unit, to the same bytes."""
    _data(tmp_path)
    recipe, cache = _recipe(tmp_path), tmp_path / "cache"
    _run(recipe, tmp_path / "one", cache)
    cut = max(cache.glob(f"??/*/{victim}"), key=lambda f: f.stat().st_size)
    data = cut.read_bytes()
    cut.write_bytes(data[: data.rfind(b"\n", 0, len(data) - 1) + 1] if b"\n" in data[:-1] else data[:-1])
    if victim == "examples.jsonl":  # entries are read only when their mix is not cached: change a filter
        recipe.write_text(recipe.read_text().replace("chars 1..200", "chars 1..150"))
    manifest, files = _run(recipe, tmp_path / "two", cache)
    assert "computed" in {_status(manifest)[s] for s in ("read:small", "read:big", "union:train")}
    _same_as_uncached(recipe, tmp_path, manifest, files)
    third, _ = _run(recipe, tmp_path / "three", cache)  # the unit was saved again, whole
    assert _status(third)["union:train"] == "reused"


def test_the_run_summary_says_what_was_reused(tmp_path: Path) -> None:
    _data(tmp_path)
    recipe = _recipe(tmp_path)
    command = [sys.executable, "-m", "recipekit.compiler", "run", str(recipe), "--cache-dir", str(tmp_path / "c")]
    first = subprocess.run([*command, "--out", str(tmp_path / "a")], capture_output=True, text=True)
    assert "stage cache: all" in first.stderr and "stages computed" in first.stderr
    second = subprocess.run([*command, "--out", str(tmp_path / "b")], capture_output=True, text=True)
    said = " ".join(second.stderr.split())  # as wrapped at the terminal's width
    assert "stages reused: read:small, render:small, read:big, render:ask" in said
    assert "computed: mix:train, write:train" in said


def test_outside_code_versions_change_exactly_their_stage_and_what_follows(tmp_path: Path) -> None:
    """A new version of a scorer plugin (or an embedding model) recomputes its stage."""
    from recipekit.runtime.stage_keys import stage_keys

    _data(tmp_path)
    plan = compile_file(str(_recipe(tmp_path))).plan
    old = stage_keys(plan, tmp_path, "1", code={"filter.regex:train/clean/1": {"version": "1.0"}})
    new = stage_keys(plan, tmp_path, "1", code={"filter.regex:train/clean/1": {"version": "1.1"}})
    changed = {sid for sid in old if old[sid] != new[sid]}
    assert changed == {"filter.regex:train/clean/1", "dedup.exact:train/clean/2", "mix:train", "write:train"}


def test_the_cli_keeps_its_cache_under_a_size_limit(tmp_path: Path, monkeypatch, capsys) -> None:
    """After a run, what no run used for longest goes until the cache fits
    $RECIPEKIT_CACHE_MAX_SIZE; what this run used stays, even over the limit."""
    _data(tmp_path)
    cache = tmp_path / "cache"
    old = _recipe(tmp_path)
    assert main(["run", str(old), "--out", str(tmp_path / "a"), "--quiet", "--cache-dir", str(cache)]) == 0
    earlier = StageCache(cache).entries()
    for entry in earlier:  # used an hour ago
        os.utime(entry.path, (time.time() - 3600, time.time() - 3600))
    new = tmp_path / "new.recipe"
    new.write_text(old.read_text().replace("seed = 11", "seed = 12"))  # every key changes
    monkeypatch.setenv("RECIPEKIT_CACHE_MAX_SIZE", "1")  # one byte: all that may go, goes
    assert main(["run", str(new), "--out", str(tmp_path / "b"), "--cache-dir", str(cache)]) == 0
    said = " ".join(capsys.readouterr().err.split())
    assert f"stage cache: removed {len(earlier)} entries" in said and "to stay under 1" in said
    left = StageCache(cache).entries()
    assert left and not {e.key for e in left} & {e.key for e in earlier}  # this run's entries stay
    monkeypatch.setenv("RECIPEKIT_CACHE_MAX_SIZE", "none")
    assert main(["run", str(old), "--out", str(tmp_path / "c"), "--quiet", "--cache-dir", str(cache)]) == 0
    assert len(StageCache(cache).entries()) == len(left) + len(earlier)  # no limit: nothing removed
    monkeypatch.setenv("RECIPEKIT_CACHE_MAX_SIZE", "lots")
    assert main(["run", str(old), "--out", str(tmp_path / "d"), "--quiet", "--cache-dir", str(cache)]) == 1
    assert "RECIPEKIT_CACHE_MAX_SIZE='lots' is not a size" in capsys.readouterr().err


def test_commit_keeps_a_whole_entry_and_replaces_one_that_is_not(tmp_path: Path) -> None:
    cache = StageCache(tmp_path / "cache")

    def entry(text: str) -> Path:
        scratch = cache.begin()
        (scratch / "data.txt").write_text(text)
        return scratch

    first = cache.commit(entry("first"), "ab" * 16, "mix", "one")
    assert cache.commit(entry("second"), "ab" * 16, "mix", "one") == first  # another run's copy: dropped
    assert (first / "data.txt").read_text() == "first"
    (first / "data.txt").write_text("cut")  # shorter than recorded, as after a crash
    cache.commit(entry("third"), "ab" * 16, "mix", "one")  # a run that did not look first
    assert (first / "data.txt").read_text() == "third" and cache.lookup("ab" * 16) == first
    assert not list((tmp_path / "cache" / "tmp").iterdir())
