"""`recipekit run --engine ray`: the same plan on Ray Data gives the local engine's
bytes — every output, rejects.jsonl and the manifest's numbers — on every example,
whatever the number of blocks. One local Ray cluster (2 CPUs) serves the module;
the tests skip when the `ray` extra is not installed, except the one that proves
what a run says then."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pytest

from recipekit.compiler.cli import main
from recipekit.compiler.compile import compile_file
from recipekit.runtime.engine import RunSettings
from recipekit.runtime.errors import RunError
from recipekit.runtime.ray_engine import RAY_HINT, parallel_prefix
from recipekit.runtime.run import run_plan, verify_run

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.recipe"))
CORPORA_RECIPE = Path(__file__).parent / "corpora" / "sst2_seeds_alpaca.recipe"
CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"

# Ray Data's own DataContext() sets deprecated fields of its own, and says so
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.data.context")


@pytest.fixture(scope="module")
def cluster():
    ray = pytest.importorskip("ray")
    pytest.importorskip("ray.data")
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    yield ray
    ray.shutdown()


def run(recipe: Path, run_dir: Path, engine: str = "local", batch_size: int = 4096,
        limit: int | None = None) -> tuple[dict, dict]:
    """The run's manifest, less what may differ between engines and batch sizes, and its files."""
    plan = compile_file(recipe).plan
    settings = RunSettings(root=recipe.parent, run_dir=run_dir, batch_size=batch_size, limit=limit)
    manifest, _ = run_plan(plan, settings, engine)
    assert manifest["engine"] == engine
    files = {o["path"]: (run_dir / o["path"]).read_bytes() for o in manifest["outputs"]}
    files["rejects.jsonl"] = (run_dir / "rejects.jsonl").read_bytes()
    for key in ("engine", "seconds", "started_at"):
        del manifest[key]
    for key in ("batch_size", "workers", "parallel_entries"):  # how it ran, not what it made
        manifest["settings"].pop(key, None)
    for stage in manifest["stages"]:
        del stage["seconds"]
    return manifest, files


def assert_same_runs(recipe: Path, tmp_path: Path, batch_sizes: tuple[int, ...], limit: int | None = None) -> None:
    local_manifest, local_files = run(recipe, tmp_path / "local", limit=limit)
    assert all(local_files.values()), "the run should write something and reject something"
    for batch in batch_sizes:
        manifest, files = run(recipe, tmp_path / f"ray-{batch}", "ray", batch, limit)
        assert files.keys() == local_files.keys()
        for name in files:
            assert files[name] == local_files[name], f"{name} differs with --engine ray --batch-size {batch}"
        assert manifest == local_manifest


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_gives_the_local_bytes(cluster, example: Path, tmp_path: Path) -> None:
    assert_same_runs(example, tmp_path, (4096, 13))  # one block a file, and many


# A recipe with what the examples leave out: decontaminate (its index built on the
# driver and shipped), an expansion with input instances from another source, two exact
# dedups around a score (two shuffles), near dedup and a filter after it (on the driver),
# agreement, malformed lines, an output by quality with a review sample, and a second
# output of the same mix.
SINK = """\
recipe sink {
  seed = 5
}

source rows {
  from = "rows.jsonl"
  schema {
    instruction: str
    output: str
    topic: str
  }
}

source evalset {
  from = "eval.jsonl"
  schema {
    question: str
  }
}

source cases {
  from = "cases.jsonl"
  schema {
    input: str
    output: str
  }
}

source votes {
  from = "votes.jsonl"
  kind = human
  schema {
    id: str
    worker: str
    text: str
    label: str
  }
}

paraphrase verbs {
  "Write" <-> "Compose" <-> "Create"
  "Explain" -> "Describe"
}

template t on rows {
  instruction = ["{instruction}", "Please answer: {instruction}"]
  output = "{output}"
}

expand x from rows {
  paraphrase = verbs
  variants = 2
}

expand y from rows {
  paraphrase = verbs
  variants = 2
  inputs = cases
}

template classify on votes {
  instruction = "Is this review positive or negative?"
  input = "{text}"
  output = "{label}"
}

filter f {
  ordered = true
  length instruction words 2..64
  decontaminate against evalset {
    ngram = 5
  }
  dedup exact on (instruction, output) normalize (lower, whitespace)
  score heuristic >= 0.3
  dedup exact on (instruction, input)
  dedup near on (instruction, input) jaccard >= 0.8
  length output chars 1..50
}

filter agreed {
  agreement >= 0.5 {
    item = id
    annotator = worker
    label = label
  }
}

mix train {
  filter = f
  on_short = shrink
  t = 60%
  x = 25%
  y = 15%
}

mix voted {
  filter = agreed
  classify = 100%
}

output train {
  to = "train.jsonl"
  order = quality desc
  review = 5
}

output train_chat from train {
  to = "train.messages.jsonl"
  format = messages
  provenance = true
}

output voted {
  to = "voted.jsonl"
}
"""


def write_sink(folder: Path) -> Path:
    topics = ["rivers", "glaciers", "volcanoes", "tides", "deserts", "comets", "forests", "caves"]
    verbs = ["Write a note about", "Explain", "Compose two lines on", "Create a riddle about", "List facts on"]
    lines = []
    for n in range(240):
        topic = topics[n % len(topics)]
        row = {"instruction": f"{verbs[n % len(verbs)]} {topic} number {n % 40}",
               "output": f"Some words on {topic}, item {n % (40 if n % 3 else 70)}, and a little more.",
               "topic": topic}
        if n % 11 == 0:
            row["instruction"] = (f"Write a long and careful description of the {topic} that we saw on the "
                                  f"trip last summer with {('friends', 'family')[n % 2]}")
        if n % 17 == 0:
            row["output"] = "As an AI language model I cannot answer that."
        if n % 23 == 0:
            row["instruction"] = row["instruction"].upper()
        if n % 29 == 0:
            row["instruction"] = "Who wrote the novel Pride and Prejudice in 1813?"
        lines.append(json.dumps(row))
        if n % 41 == 0:
            lines += ["{not json", ""]
        if n % 37 == 0:
            lines.append(json.dumps({"instruction": "no output here"}))
    (folder / "rows.jsonl").write_text("\n".join(lines) + "\n")
    (folder / "cases.jsonl").write_text("".join(
        json.dumps({"input": f"case {n}", "output": f"answer {n % 4}"}) + "\n" for n in range(9)) + "{oops\n")
    (folder / "eval.jsonl").write_text(json.dumps({"question": "Who wrote the novel Pride and Prejudice?"}) + "\n")
    votes = [("a", "w1", "positive"), ("a", "w2", "positive"), ("a", "w3", "negative"),
             ("b", "w1", "negative"), ("b", "w2", "negative"), ("c", "w1", "positive"), ("c", "w2", "negative"),
             ("d", "w1", "positive")]
    (folder / "votes.jsonl").write_text("".join(
        json.dumps({"id": item, "worker": worker, "text": f"review {item}", "label": label}) + "\n"
        for item, worker, label in votes))
    recipe = folder / "sink.recipe"
    recipe.write_text(SINK)
    return recipe


def test_every_kind_of_stage_gives_the_local_bytes(cluster, tmp_path: Path) -> None:
    recipe = write_sink(tmp_path)
    plan = compile_file(recipe).plan
    chain_ops = [s["op"] for s in plan["stages"] if s["id"].startswith(("filter", "decontaminate", "dedup", "score"))
                 and "train/" in s["id"]]
    assert chain_ops == ["filter.length", "decontaminate", "dedup.exact", "score", "dedup.exact", "dedup.near",
                         "filter.length"]
    assert_same_runs(recipe, tmp_path, (4096, 7))


def test_a_quick_try_with_a_limit(cluster, tmp_path: Path) -> None:
    example = next(e for e in EXAMPLES if e.stem == "mixture")
    assert_same_runs(example, tmp_path, (4096,), limit=15)


@pytest.mark.parametrize("text", [
    b"", b'{"t": "a"}', b'{"t": "a"}\n', b'\xef\xbb\xbf{"t": "a"}\n\n{"t": 1}\n{bad\n\n{"t": "b"}',
    b"".join(b'{"t": "%d"}\n' % n for n in range(10)) + b"\n\n",
])
@pytest.mark.parametrize("lines", [1, 2, 3, 4096])
def test_blocks_of_lines_keep_the_row_identities(tmp_path: Path, text: bytes, lines: int) -> None:
    pytest.importorskip("ray.data")
    from recipekit.runtime.ray_blocks import line_spans
    from recipekit.runtime.readers import read_source

    (tmp_path / "rows.jsonl").write_bytes(text)
    params = {"path": "rows.jsonl", "format": "jsonl", "explode": None,
              "fields": [{"name": "t", "type": "str", "optional": False, "path": ["t"]}]}

    def items(span=None) -> list:
        return [(type(i).__name__, str(i)) for i in read_source(params, tmp_path, "read:rows", "rows", span)]

    spans = line_spans(tmp_path / "rows.jsonl", lines)
    assert spans[0][0] == 0 and spans[-1][1] == len(text) and all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
    assert [item for span in spans for item in items(span)] == items()


def test_which_stages_run_on_the_workers() -> None:
    ops = lambda *names: [{"op": name} for name in names]  # noqa: E731
    assert parallel_prefix(ops("filter.length", "dedup.exact", "score")) == 3
    assert parallel_prefix(ops("filter.regex", "dedup.near", "filter.length")) == 1
    assert parallel_prefix(ops("agreement")) == 0


@pytest.mark.corpora
@pytest.mark.skipif(not CORPORA.is_dir(), reason="needs ../shared/corpora")
def test_the_corpora_recipe_gives_the_local_bytes(cluster, tmp_path: Path) -> None:
    assert_same_runs(CORPORA_RECIPE, tmp_path, (4096, 500))


def test_the_command_line_and_verify(cluster, tmp_path: Path) -> None:
    example = next(e for e in EXAMPLES if e.stem == "sentiment_templates")
    out = tmp_path / "run"
    assert main(["run", str(example), "--engine", "ray", "--out", str(out), "--quiet"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["engine"] == "ray"
    assert verify_run(out, rerun=True) == []  # the rerun is local: the same bytes again


def test_progress_counts_the_rows_read(cluster, tmp_path: Path) -> None:
    example = next(e for e in EXAMPLES if e.stem == "mixture")
    calls: list[tuple[str, int]] = []
    settings = RunSettings(root=example.parent, run_dir=tmp_path, batch_size=7,
                           progress=lambda stage, rows: calls.append((stage, rows)))
    manifest, _ = run_plan(compile_file(example).plan, settings, "ray")
    for read in (s for s in manifest["stages"] if s["op"] == "read"):
        seen = [rows for stage, rows in calls if stage == read["id"]]
        assert seen == sorted(seen) and seen[-1] == read["rows_in"], read["id"]


def test_a_worker_error_reaches_the_person_whole(cluster, tmp_path: Path) -> None:
    (tmp_path / "rows.json").write_text('{"text": "an object, not an array"}')
    (tmp_path / "r.recipe").write_text(
        'source rows {\n  from = "rows.json"\n  schema {\n    text: str\n  }\n}\n\n'
        'template t on rows {\n  instruction = "Repeat."\n  output = "{text}"\n}\n\n'
        'mix train {\n  t = 100%\n}\n\noutput train {\n  to = "train.jsonl"\n}\n')
    plan = compile_file(tmp_path / "r.recipe").plan
    errors = []
    for engine in ("local", "ray"):
        with pytest.raises(RunError) as caught:
            run_plan(plan, RunSettings(root=tmp_path, run_dir=tmp_path / engine), engine)
        errors.append((type(caught.value), caught.value.message, caught.value.hint, caught.value.file))
    assert errors[0] == errors[1]
    assert "array" in errors[1][1] and errors[1][2]


def test_without_ray_the_run_says_what_to_install(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails as if it were not installed
    example = next(e for e in EXAMPLES if e.stem == "sentiment_templates")
    assert main(["run", str(example), "--engine", "ray", "--out", str(tmp_path / "run"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert RAY_HINT in err and "Traceback" not in err


def test_an_address_needs_the_ray_engine(tmp_path: Path, capsys) -> None:
    example = next(e for e in EXAMPLES if e.stem == "sentiment_templates")
    assert main(["run", str(example), "--address", "auto", "--out", str(tmp_path / "run"), "--quiet"]) == 2
    assert "--engine ray" in capsys.readouterr().err
