"""The readers on real, third-party data (../shared/corpora, see its README.md)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from recipekit.runtime.readers import read_source
from recipekit.runtime.records import Reject, SourceRow

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"

pytestmark = [
    pytest.mark.corpora,
    pytest.mark.skipif(not CORPORA.is_dir(), reason=f"no corpora at {CORPORA}"),
]


def field(name: str, type_: str = "str", optional: bool = False, path: list | None = None) -> dict:
    return {"name": name, "type": type_, "optional": optional, "path": path if path is not None else [name]}


def read(file: str, fields: list[dict], explode: str | None = None) -> tuple[list[SourceRow], list[Reject]]:
    params = {"path": file, "format": "jsonl", "kind": "dataset", "explode": explode, "fields": fields,
              "cost": None}
    rows: list[SourceRow] = []
    rejects: list[Reject] = []
    for item in read_source(params, CORPORA, "read:corpus", "corpus"):
        (rejects if isinstance(item, Reject) else rows).append(item)
    return rows, rejects


ALPACA = [field("status"), field("instruction"), field("input", optional=True), field("output")]
NESTED_SIMILARITY = field("similarity", "float", optional=True, path=["other", "similarity"])
TOP_SIMILARITY = field("similarity", "float", optional=True)


def test_alpaca_libre_v2_has_2280_rows_and_14_malformed_lines() -> None:
    rows, rejects = read("alpaca-libre/alpaca_libre_tasks_v2.jsonl", [*ALPACA, NESTED_SIMILARITY])
    assert len(rows) == 2280
    assert [r.line for r in rejects] == [2279, *range(2281, 2292), 2293, 2294]
    assert {r.rule for r in rejects} == {"json"}
    for reject in rejects:
        assert reject.reason.startswith(f"line {reject.line}: invalid JSON: unexpected character")
        assert reject.row == reject.line - 1 and '""""' in reject.value
        assert reject.file == "alpaca-libre/alpaca_libre_tasks_v2.jsonl" and reject.source == "corpus"
    assert [r.line for r in rows][2277:2279] == [2278, 2280]  # the row between the bad lines keeps its line
    assert Counter(r.fields["status"] for r in rows) == {"ok": 1286, "too similar": 845, "blacklist": 95,
                                                         "error": 46, "too short": 5, "bad start": 3}
    assert sum(r.fields["similarity"] is not None for r in rows) == 2280


@pytest.mark.parametrize(
    ("version", "count", "top", "nested"),
    [(1, 2375, 2375, 0), (3, 1205, 0, 1205)],
)
def test_alpaca_libre_similarity_drifts_from_top_level_to_nested(version: int, count: int, top: int,
                                                                 nested: int) -> None:
    file = f"alpaca-libre/alpaca_libre_tasks_v{version}.jsonl"
    for declared, present in ((TOP_SIMILARITY, top), (NESTED_SIMILARITY, nested)):
        rows, rejects = read(file, [*ALPACA, declared])
        assert (len(rows), rejects) == (count, [])
        values = [r.fields["similarity"] for r in rows if r.fields["similarity"] is not None]
        assert len(values) == present
        assert all(type(v) is float and 0 <= v <= 1 for v in values)
    # a required similarity at the wrong path rejects every row, with a reason
    rows, rejects = read(file, [*ALPACA, field("similarity", "float",
                                               path=["other", "similarity"] if top else ["similarity"])])
    assert rows == [] and len(rejects) == count
    assert rejects[0].rule == "schema" and 'required field "similarity"' in rejects[0].reason


def test_alpaca_libre_too_similar_threshold_is_visible_in_the_read_values() -> None:
    rows, _ = read("alpaca-libre/alpaca_libre_tasks_v1.jsonl", [*ALPACA, TOP_SIMILARITY])
    too_similar = [r.fields["similarity"] for r in rows if r.fields["status"] == "too similar"]
    ok = [r.fields["similarity"] for r in rows if r.fields["status"] == "ok"]
    assert min(too_similar) == pytest.approx(0.706) and max(ok) == pytest.approx(0.700)


def test_self_instruct_seed_tasks_explode_into_175_rows() -> None:
    fields = [field("instruction"), field("input", optional=True, path=["instances", "input"]),
              field("output", path=["instances", "output"])]
    rows, rejects = read("self-instruct-seed-tasks/seed_tasks.jsonl", fields, explode="instances")
    assert (len(rows), rejects) == (175, [])
    assert all(r.id.part == 0 for r in rows) and [r.id.row for r in rows] == list(range(175))
    assert set(rows[0].fields) == {"instruction", "input", "output"}
    assert sum(r.fields["input"] == "" for r in rows) == 50


def test_xquad_answer_text_is_read_by_path() -> None:
    fields = [field("context"), field("question"), field("answer", path=["answers", 0, "text"]),
              field("start", "int", path=["answers", 0, "answer_start"]),
              field("texts", "list[str]", path=["answers", None, "text"])]
    rows, rejects = read("xquad-en/xquad.en.flat.jsonl", fields)
    assert (len(rows), rejects) == (1190, [])
    assert rows[0].fields["answer"] == "308"
    assert all(r.fields["texts"] == [r.fields["answer"]] for r in rows)
    assert all(r.fields["context"][r.fields["start"]:].startswith(r.fields["answer"]) for r in rows)


def test_glue_rte_labels_are_strings() -> None:
    rows, rejects = read("glue-rte/train.jsonl", [field("sentence1"), field("sentence2"), field("label"),
                                                  field("index", "int")])
    assert (len(rows), rejects) == (2490, [])
    assert Counter(r.fields["label"] for r in rows) == {"entailment": 1249, "not_entailment": 1241}
    # declared as int, every row is a reject that names the value
    rows, rejects = read("glue-rte/train.jsonl", [field("label", "int")])
    assert rows == [] and len(rejects) == 2490
    assert rejects[0].reason == 'line 1: "label" should be int, found str "not_entailment"'
    assert rejects[0].value == "not_entailment"


def test_glue_sst2_train_labels_are_ints() -> None:
    rows, rejects = read("glue-sst2/train_first10000.jsonl", [field("sentence"), field("label", "int")])
    assert (len(rows), rejects) == (10000, [])
    assert Counter(r.fields["label"] for r in rows) == {1: 5529, 0: 4471}
    assert all(type(r.fields["sentence"]) is str for r in rows)


def test_nq_open_answers_are_lists_of_strings() -> None:
    rows, rejects = read("nq-open/NQ-open.dev.jsonl", [field("question"), field("answer", "list[str]")])
    assert (len(rows), rejects) == (3610, [])
    sizes = Counter(len(r.fields["answer"]) for r in rows)
    assert (sizes[1], sizes[2], sizes[3]) == (2076, 953, 306)
    # declared as str, a list is a schema reject
    _, rejects = read("nq-open/NQ-open.dev.jsonl", [field("answer")])
    assert len(rejects) == 3610 and rejects[0].reason.startswith('line 1: "answer" should be str, found list [')
