"""The readers: typed rows and reasoned rejects from jsonl, json, csv, tsv and parquet."""

from __future__ import annotations

import sys
import tracemalloc
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recipekit.runtime.errors import RunError
from recipekit.runtime.read_common import make_row_id
from recipekit.runtime.read_fields import compile_schema
from recipekit.runtime.readers import PARQUET_HINT, read_source
from recipekit.runtime.records import Reject, RowId, SourceRow

FORMAT_OF = {".jsonl": "jsonl", ".json": "json", ".csv": "csv", ".tsv": "tsv", ".parquet": "parquet"}


def field(name: str, type_: str = "str", optional: bool = False, path: list | None = None) -> dict:
    return {"name": name, "type": type_, "optional": optional, "path": path if path is not None else [name]}


def params(file: str, fields: list[dict], explode: str | None = None, fmt: str | None = None) -> dict:
    return {"path": file, "format": fmt or FORMAT_OF[Path(file).suffix], "kind": "dataset", "explode": explode,
            "fields": fields, "cost": None}


def read(tmp_path: Path, file: str, content: bytes | str | None, fields: list[dict], explode: str | None = None,
         fmt: str | None = None) -> tuple[list[SourceRow], list[Reject]]:
    if content is not None:
        target = tmp_path / file
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode() if isinstance(content, str) else content)
    rows: list[SourceRow] = []
    rejects: list[Reject] = []
    for item in read_source(params(file, fields, explode, fmt), tmp_path, "read:src", "src"):
        (rejects if isinstance(item, Reject) else rows).append(item)
    return rows, rejects


def jsonl(*records: object) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


def only(rejects: list[Reject]) -> Reject:
    assert len(rejects) == 1, rejects
    return rejects[0]


# ---------------------------------------------------------------- jsonl: types


def test_jsonl_rows_hold_exactly_the_declared_fields_typed(tmp_path: Path) -> None:
    data = jsonl({"s": "a", "i": 3, "f": 2, "b": True, "ls": ["x", "y"], "lf": [1, 2.5], "extra": {"x": 1}})
    fields = [field("s"), field("i", "int"), field("f", "float"), field("b", "bool"), field("ls", "list[str]"),
              field("lf", "list[float]")]
    rows, rejects = read(tmp_path, "d.jsonl", data, fields)
    assert rejects == []
    [row] = rows
    assert row.fields == {"s": "a", "i": 3, "f": 2.0, "b": True, "ls": ["x", "y"], "lf": [1.0, 2.5]}
    assert type(row.fields["f"]) is float and all(type(x) is float for x in row.fields["lf"])
    assert row.id == RowId("src", 0, 0) and row.line == 1


@pytest.mark.parametrize(
    ("type_", "value", "found"),
    [
        ("int", "positive", 'str "positive"'),
        ("int", True, "bool true"),  # a bool is not an int
        ("int", 3.0, "float 3.0"),
        ("float", False, "bool false"),
        ("float", "0.5", 'str "0.5"'),  # no conversion from text in JSON
        ("str", 7, "int 7"),
        ("bool", 1, "int 1"),
        ("list[str]", "a", 'str "a"'),
        ("list[str]", ["a", 2], 'list ["a",2]'),
        ("list[int]", [1, None], "list [1,null]"),
    ],
)
def test_a_value_of_the_wrong_type_is_a_schema_reject(tmp_path: Path, type_: str, value: object,
                                                      found: str) -> None:
    rows, rejects = read(tmp_path, "d.jsonl", b"\n" + jsonl({"label": value}), [field("label", type_)])
    reject = only(rejects)
    assert rows == []
    assert reject.rule == "schema" and reject.value == value
    assert reject.reason.startswith(f'line 2: "label" should be {type_}, found {found}')
    assert (reject.stage, reject.source, reject.file, reject.row, reject.line) == ("read:src", "src", "d.jsonl", 1, 2)


def test_the_wrong_element_of_a_list_is_named(tmp_path: Path) -> None:
    _, rejects = read(tmp_path, "d.jsonl", jsonl({"xs": ["a", "b", 3]}), [field("xs", "list[str]")])
    assert only(rejects).reason == 'line 1: "xs" should be list[str], found list ["a","b",3] (element 2 is int 3)'


def test_optional_fields_may_be_missing_or_null_required_ones_may_not(tmp_path: Path) -> None:
    data = jsonl({"a": "x"}, {"a": "x", "b": None}, {"b": "y"}, {"a": None, "b": "y"}, {"a": "x", "b": ""})
    rows, rejects = read(tmp_path, "d.jsonl", data, [field("a"), field("b", optional=True)])
    assert [r.fields for r in rows] == [{"a": "x", "b": None}, {"a": "x", "b": None}, {"a": "x", "b": ""}]
    assert [r.id.row for r in rows] == [0, 1, 4]
    assert [(r.line, r.reason, r.value) for r in rejects] == [
        (3, 'line 3: required field "a" is missing', None),
        (4, 'line 4: required field "a" is null', None),
    ]


def test_one_reject_per_record_even_with_several_bad_fields(tmp_path: Path) -> None:
    _, rejects = read(tmp_path, "d.jsonl", jsonl({"a": 1, "b": 2}), [field("a"), field("b")])
    assert only(rejects).reason == 'line 1: "a" should be str, found int 1'


# ---------------------------------------------------------------- jsonl: paths


def test_paths_read_nested_objects_list_indexes_and_every_element(tmp_path: Path) -> None:
    record = {"other": {"similarity": 0.7}, "answers": [{"text": "308", "start": 3}, {"text": "nine", "start": 9}]}
    fields = [field("similarity", "float", path=["other", "similarity"]),
              field("answer", path=["answers", 0, "text"]),
              field("second", path=["answers", 1, "text"]),
              field("texts", "list[str]", path=["answers", None, "text"]),
              field("starts", "list[float]", path=["answers", None, "start"]),
              field("all", "list[list[str]]", optional=True, path=["pairs", None, None])]
    rows, rejects = read(tmp_path, "d.jsonl", jsonl(record), fields)
    assert rejects == []
    assert rows[0].fields == {"similarity": 0.7, "answer": "308", "second": "nine", "texts": ["308", "nine"],
                              "starts": [3.0, 9.0], "all": None}


def test_a_nested_list_of_lists_is_read_with_two_every_steps(tmp_path: Path) -> None:
    rows, _ = read(tmp_path, "d.jsonl", jsonl({"pairs": [["a", "b"], ["c"]]}),
                   [field("all", "list[list[str]]", path=["pairs", None, None])])
    assert rows[0].fields == {"all": [["a", "b"], ["c"]]}


@pytest.mark.parametrize(
    ("record", "path", "why"),
    [
        ({"answers": []}, ["answers", 0, "text"], "answers has 0 element(s), no element 0"),
        ({"answers": [{"start": 1}]}, ["answers", 0, "text"], 'answers[0] has no key "text"'),
        ({"answers": "308"}, ["answers", 0, "text"], 'answers is str "308", not a list'),
        ({"other": 0.5}, ["other", "similarity"], "other is float 0.5, not an object"),
        ({"other": None}, ["other", "similarity"], "other is null"),
        ({"answers": [{"text": "a"}, {}]}, ["answers", None, "text"], 'answers[1] has no key "text"'),
    ],
)
def test_a_path_that_finds_nothing_says_where_it_stopped(tmp_path: Path, record: dict, path: list,
                                                         why: str) -> None:
    type_ = "list[str]" if None in path else "str"
    rows, rejects = read(tmp_path, "d.jsonl", jsonl(record), [field("answer", type_, path=path)])
    assert rows == []
    reason = only(rejects).reason
    assert reason.startswith('line 1: required field "answer" (') and why in reason, reason


def test_an_optional_path_that_finds_nothing_is_none(tmp_path: Path) -> None:
    data = jsonl({"other": {"similarity": 0.9}}, {"similarity": 0.6}, {"other": None}, {"other": {}})
    rows, rejects = read(tmp_path, "d.jsonl", data, [field("similarity", "float", True, ["other", "similarity"])])
    assert rejects == []
    assert [r.fields["similarity"] for r in rows] == [0.9, None, None, None]


# ---------------------------------------------------------------- jsonl: explode


SEED = {"id": "seed_5", "instruction": "Define the word.",
        "instances": [{"input": "ephemeral", "output": "Short-lived."}, {"input": "", "output": "Careful."}]}
SEED_FIELDS = [field("id"), field("instruction"), field("input", optional=True, path=["instances", "input"]),
               field("output", path=["instances", "output"])]


def test_explode_makes_one_row_per_element_with_its_part(tmp_path: Path) -> None:
    rows, rejects = read(tmp_path, "s.jsonl", b"\n" + jsonl(SEED), SEED_FIELDS, explode="instances")
    assert rejects == []
    assert [(r.id, r.line) for r in rows] == [(RowId("src", 1, 0), 2), (RowId("src", 1, 1), 2)]
    assert rows[0].fields == {"id": "seed_5", "instruction": "Define the word.", "input": "ephemeral",
                              "output": "Short-lived."}
    assert rows[1].fields["input"] == "" and rows[1].fields["output"] == "Careful."


def test_the_exploded_field_itself_is_the_element(tmp_path: Path) -> None:
    rows, _ = read(tmp_path, "s.jsonl", jsonl({"tags": ["a", "b"]}), [field("tags")], explode="tags")
    assert [r.fields for r in rows] == [{"tags": "a"}, {"tags": "b"}]


@pytest.mark.parametrize(
    ("instances", "why"),
    [([], "is an empty list"), ("one", 'is str "one", not a list'), (None, "is null"), ("absent", "is missing")],
)
def test_an_explode_field_that_is_not_a_non_empty_list_rejects_the_record(tmp_path: Path, instances: object,
                                                                          why: str) -> None:
    record = {k: v for k, v in SEED.items() if k != "instances"}
    if instances != "absent":
        record["instances"] = instances
    rows, rejects = read(tmp_path, "s.jsonl", jsonl(SEED, record), SEED_FIELDS, explode="instances")
    reject = only(rejects)
    assert len(rows) == 2
    assert reject.rule == "schema" and reject.row == 1 and reject.line == 2 and reject.part is None
    assert reject.reason == f'line 2: explode field "instances" {why}'


def test_a_bad_element_is_rejected_alone(tmp_path: Path) -> None:
    record = dict(SEED, instances=[{"input": "a", "output": "b"}, {"input": "c"}, {"input": "d", "output": "e"}])
    rows, rejects = read(tmp_path, "s.jsonl", jsonl(record), SEED_FIELDS, explode="instances")
    assert [r.id.part for r in rows] == [0, 2]
    reject = only(rejects)
    assert (reject.row, reject.part, reject.line) == (0, 1, 1)
    assert reject.reason == 'line 1, instances[1]: required field "output" (instances.output) is missing: ' \
                            'instances has no key "output"'


# ---------------------------------------------------------------- jsonl: bad lines


def test_a_malformed_line_is_a_json_reject_and_reading_goes_on(tmp_path: Path) -> None:
    bad = b'{"status": "ok", "input": """", "output": "x"}'
    data = jsonl({"input": "a"}) + bad + b"\n" + jsonl({"input": "b"})
    rows, rejects = read(tmp_path, "d.jsonl", data, [field("input")])
    assert [r.fields["input"] for r in rows] == ["a", "b"]
    assert [r.id.row for r in rows] == [0, 2]
    reject = only(rejects)
    assert reject.rule == "json" and reject.value == bad.decode()
    assert (reject.row, reject.line, reject.file, reject.stage) == (1, 2, "d.jsonl", "read:src")
    assert reject.reason.startswith("line 2: invalid JSON: unexpected character")
    assert "(column 29)" in reject.reason


def test_a_truncated_last_line_without_newline_is_a_reject(tmp_path: Path) -> None:
    rows, rejects = read(tmp_path, "d.jsonl", jsonl({"a": "x"}) + b'{"a": "y"', [field("a")])
    assert len(rows) == 1
    assert only(rejects).reason.startswith("line 2: invalid JSON: unexpected end of data")


@pytest.mark.parametrize(("line", "found"), [(b"[1, 2]", "list [1,2]"), (b'"text"', 'str "text"'),
                                             (b"3", "int 3"), (b"null", "null")])
def test_a_line_that_is_not_an_object_is_a_json_reject(tmp_path: Path, line: bytes, found: str) -> None:
    rows, rejects = read(tmp_path, "d.jsonl", jsonl({"a": "x"}) + line + b"\n", [field("a")])
    reject = only(rejects)
    assert len(rows) == 1
    assert reject.rule == "json" and reject.line == 2 and reject.row == 1
    assert reject.reason == f"line 2: expected a JSON object, found {found}"


def test_invalid_utf8_is_an_encoding_reject(tmp_path: Path) -> None:
    data = jsonl({"a": "x"}) + b'{"a": "caf\xe9"}\n' + jsonl({"a": "y"})
    rows, rejects = read(tmp_path, "d.jsonl", data, [field("a")])
    reject = only(rejects)
    assert [r.fields["a"] for r in rows] == ["x", "y"]
    assert reject.rule == "encoding" and reject.line == 2
    assert reject.reason.startswith("line 2: invalid UTF-8 at byte 10")
    assert reject.value == '{"a": "caf\\xe9"}'


def test_blank_lines_are_neither_rows_nor_rejects_and_keep_line_identity(tmp_path: Path) -> None:
    data = b"\n" + jsonl({"a": "x"}) + b"   \n\t\r\n" + jsonl({"a": "y"}) + b"\n\n"
    rows, rejects = read(tmp_path, "d.jsonl", data, [field("a")])
    assert rejects == []
    assert [(r.id.row, r.line) for r in rows] == [(1, 2), (4, 5)]


def test_crlf_line_endings_and_a_byte_order_mark_are_read(tmp_path: Path) -> None:
    data = b'\xef\xbb\xbf{"a": "x"}\r\n{"a": "y"}\r\n{"a": "z"}'
    rows, rejects = read(tmp_path, "d.jsonl", data, [field("a")])
    assert rejects == []
    assert [(r.fields["a"], r.line) for r in rows] == [("x", 1), ("y", 2), ("z", 3)]


def test_rows_and_rejects_come_in_file_order(tmp_path: Path) -> None:
    data = jsonl({"a": "x"}) + b"{\n" + jsonl({"a": 1}, {"a": "y"})
    (tmp_path / "d.jsonl").write_bytes(data)
    items = list(read_source(params("d.jsonl", [field("a")]), tmp_path, "read:src", "src"))
    assert [i.line for i in items] == [1, 2, 3, 4]
    assert [type(i).__name__ for i in items] == ["SourceRow", "Reject", "Reject", "SourceRow"]


def test_a_subfolder_path_is_kept_as_given_in_rejects(tmp_path: Path) -> None:
    _, rejects = read(tmp_path, "data/d.jsonl", b"oops\n", [field("a")])
    assert only(rejects).file == "data/d.jsonl"


def test_jsonl_is_streamed(tmp_path: Path) -> None:
    record = {"a": "x" * 200, "b": "y" * 200}
    (tmp_path / "big.jsonl").write_bytes(jsonl(record) * 30_000)  # ~12 MB of text
    tracemalloc.start()
    try:
        count = sum(1 for _ in read_source(params("big.jsonl", [field("a"), field("b")]), tmp_path, "read:s", "s"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 30_000
    assert peak < 2_000_000, f"peak {peak} bytes: the reader holds rows"


def test_reading_is_lazy(tmp_path: Path) -> None:
    (tmp_path / "d.jsonl").write_bytes(jsonl({"a": "x"}, {"a": "y"}))
    items = read_source(params("d.jsonl", [field("a")]), tmp_path, "read:s", "s")
    assert next(iter(items)).fields == {"a": "x"}


def test_the_fast_row_id_is_a_real_row_id() -> None:
    made = make_row_id("src", 7, 2)
    assert type(made) is RowId and made == RowId("src", 7, 2) and hash(made) == hash(RowId("src", 7, 2))
    assert made.key() == "src/7/2" and make_row_id("src", 7) == RowId("src", 7)
    with pytest.raises(AttributeError):
        made.row = 8  # still frozen


# ---------------------------------------------------------------- fast and slow path agree

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.floats(-2, 2) | st.text("ab", max_size=2),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("abc"), inner, max_size=3),
    max_leaves=8,
)
CELLS = st.sampled_from(["", "1", "-2", " 3 ", "1_0", "1.5", "nan", "x", "true", "FALSE", "0", "[1]", '["a"]',
                         "[[1]]", "[1.5, 2]", "[null]", "{}"])
TYPES = st.sampled_from(["str", "int", "float", "bool", "list[str]", "list[int]", "list[float]", "list[list[int]]"])
FIELDS = st.lists(st.builds(lambda t, o, p: {"type": t, "optional": o, "path": p}, TYPES, st.booleans(),
                            st.lists(st.sampled_from(["a", "b", "c", 0, 1, None]), min_size=1, max_size=3)),
                  min_size=1, max_size=3)
PY_TYPES = {"str": str, "int": int, "float": float, "bool": bool}


def has_type(value: object, type_: str) -> bool:
    if type_.startswith("list["):
        return type(value) is list and all(has_type(v, type_[5:-1]) for v in value)
    return type(value) is PY_TYPES[type_]


@settings(max_examples=400, deadline=None)
@given(FIELDS, st.booleans(), st.data())
def test_extract_and_explain_agree(fields: list[dict], coerce: bool, data: st.DataObject) -> None:
    """Every record the fast path refuses gets a reason; every row it makes is typed as declared."""
    for i, f in enumerate(fields):
        f["name"] = f"f{i}"
        if coerce:
            f["path"] = f["path"][:1] if type(f["path"][0]) is str else ["a"]
    values = CELLS if coerce else JSON_VALUES
    record = data.draw(st.dictionaries(st.sampled_from("abc"), values, max_size=3))
    schema = compile_schema(fields, coerce=coerce)
    out = schema.extract(record)
    if out is None:
        reason, _ = schema.explain(record)
        assert reason != "the record does not match the schema"
    else:
        assert list(out) == [f["name"] for f in fields]
        for f in fields:
            value = out[f["name"]]
            assert (value is None and f["optional"]) or has_type(value, f["type"]), (f, value)


# ---------------------------------------------------------------- json arrays


def test_json_array_elements_are_rows_with_their_index(tmp_path: Path) -> None:
    data = orjson.dumps([{"a": "x"}, [1], {"a": 2}, {"a": "y", "n": {"k": 1}}])
    rows, rejects = read(tmp_path, "d.json", data, [field("a"), field("k", "int", True, ["n", "k"])])
    assert [(r.id.row, r.line, r.fields) for r in rows] == [(0, None, {"a": "x", "k": None}),
                                                           (3, None, {"a": "y", "k": 1})]
    assert [(r.rule, r.row, r.line, r.reason) for r in rejects] == [
        ("json", 1, None, "element 1: expected a JSON object, found list [1]"),
        ("schema", 2, None, 'element 2: "a" should be str, found int 2'),
    ]


def test_json_explode(tmp_path: Path) -> None:
    rows, _ = read(tmp_path, "d.json", orjson.dumps([SEED]), SEED_FIELDS, explode="instances")
    assert [r.id for r in rows] == [RowId("src", 0, 0), RowId("src", 0, 1)]


@pytest.mark.parametrize(("content", "words"), [(b'{"data": []}', "holds object"), (b'"x"', "holds str"),
                                                (b"[1, 2", "invalid JSON at line 1"),
                                                (b'[{"a": "\xff"}]', "not valid UTF-8")])
def test_a_json_file_that_is_not_one_valid_array_stops_the_run(tmp_path: Path, content: bytes,
                                                               words: str) -> None:
    (tmp_path / "d.json").write_bytes(content)
    with pytest.raises(RunError) as caught:
        read(tmp_path, "d.json", None, [field("a")])
    assert words in caught.value.message and caught.value.file == "d.json"


# ---------------------------------------------------------------- csv and tsv


def test_csv_cells_are_converted_to_the_declared_types(tmp_path: Path) -> None:
    data = "s,i,f,b,l,o\nhello,3,2.5,true,\"[\"\"a\"\"]\",\nworld,-4, 1e3 ,0,[],7\n\"x, y\",+5,7,FALSE,[],\n"
    fields = [field("s"), field("i", "int"), field("f", "float"), field("b", "bool"), field("l", "list[str]"),
              field("o", "int", True)]
    rows, rejects = read(tmp_path, "d.csv", data, fields)
    assert rejects == []
    assert [r.fields for r in rows] == [
        {"s": "hello", "i": 3, "f": 2.5, "b": True, "l": ["a"], "o": None},
        {"s": "world", "i": -4, "f": 1000.0, "b": False, "l": [], "o": 7},
        {"s": "x, y", "i": 5, "f": 7.0, "b": False, "l": [], "o": None},
    ]
    assert [(r.id.row, r.line) for r in rows] == [(0, 2), (1, 3), (2, 4)]


@pytest.mark.parametrize(
    ("type_", "cell", "reason"),
    [
        ("int", "positive", '"label" should be int, found str "positive"'),
        ("int", "2.0", '"label" should be int, found str "2.0"'),
        ("int", "1_000", '"label" should be int, found str "1_000"'),
        ("float", "abc", '"label" should be float, found str "abc"'),
        ("bool", "yes", '"label" should be bool, found str "yes"'),
        ("list[int]", "[1, \"\"]", '"label" should be list[int], found str "[1, \\"\\"]"'),
        ("int", "", 'required field "label" is empty (should be int)'),
    ],
)
def test_a_csv_cell_that_does_not_convert_is_a_schema_reject(tmp_path: Path, type_: str, cell: str,
                                                             reason: str) -> None:
    good = "[1]" if type_.startswith("list") else "1"
    rows, rejects = read(tmp_path, "d.csv", f"text,label\nok,{good}\nbad,\"{cell.replace(chr(34), 2 * chr(34))}\"\n",
                         [field("text"), field("label", type_)])
    reject = only(rejects)
    assert len(rows) == 1
    assert reject.rule == "schema" and reject.value == cell and reject.line == 3 and reject.row == 1
    assert reject.reason == f"line 3: {reason}"


def test_an_empty_csv_cell_is_empty_text_for_str_fields(tmp_path: Path) -> None:
    rows, _ = read(tmp_path, "d.csv", "a,b\n,x\n", [field("a"), field("b", optional=True)])
    assert rows[0].fields == {"a": "", "b": "x"}


def test_a_ragged_csv_row_is_a_csv_reject(tmp_path: Path) -> None:
    data = "a,b\n1,2\n3\n4,5,6\n7,8\n"
    rows, rejects = read(tmp_path, "d.csv", data, [field("a"), field("b")])
    assert [r.fields for r in rows] == [{"a": "1", "b": "2"}, {"a": "7", "b": "8"}]
    assert [(r.rule, r.row, r.line, r.value, r.reason) for r in rejects] == [
        ("csv", 1, 3, ["3"], "line 3: 1 cells, the header has 2 columns"),
        ("csv", 2, 4, ["4", "5", "6"], "line 4: 3 cells, the header has 2 columns"),
    ]


def test_csv_lines_follow_multi_line_cells_and_blank_lines(tmp_path: Path) -> None:
    data = 'a,b\n1,"two\nlines"\n\n3,4\n"5",x\n'
    rows, rejects = read(tmp_path, "d.csv", data, [field("a", "int"), field("b")])
    assert rejects == []
    assert [(r.fields["a"], r.id.row, r.line) for r in rows] == [(1, 0, 2), (3, 1, 5), (5, 2, 6)]
    assert rows[0].fields["b"] == "two\nlines"


def test_a_csv_record_the_parser_refuses_is_a_csv_reject(tmp_path: Path) -> None:
    rows, rejects = read(tmp_path, "d.csv", 'a,b\n1,"x"y\n2,ok\n', [field("a"), field("b")])
    assert [r.fields for r in rows] == [{"a": "2", "b": "ok"}]
    reject = only(rejects)
    assert reject.rule == "csv" and reject.line == 2 and reject.reason.startswith("line 2: cannot parse")


def test_invalid_utf8_in_csv_is_an_encoding_reject(tmp_path: Path) -> None:
    rows, rejects = read(tmp_path, "d.csv", b"a,b\n1,caf\xe9\n2,ok\n", [field("a"), field("b")])
    assert [r.fields for r in rows] == [{"a": "2", "b": "ok"}]
    reject = only(rejects)
    assert (reject.rule, reject.line, reject.row, reject.value) == ("encoding", 2, 0, "1,caf\\xe9")
    assert reject.reason == "line 2: invalid UTF-8"


def test_csv_with_crlf_and_bom(tmp_path: Path) -> None:
    rows, rejects = read(tmp_path, "d.csv", b"\xef\xbb\xbfa,b\r\n1,2\r\n", [field("a", "int"), field("b", "int")])
    assert rejects == [] and rows[0].fields == {"a": 1, "b": 2}


def test_a_missing_csv_column_rejects_every_row_that_needs_it(tmp_path: Path) -> None:
    rows, rejects = read(tmp_path, "d.csv", "a\n1\n2\n", [field("a"), field("b", optional=True), field("c")])
    assert rows == []
    assert [r.reason for r in rejects] == ['line 2: required field "c" is missing',
                                          'line 3: required field "c" is missing']


def test_a_csv_header_naming_a_declared_column_twice_stops_the_run(tmp_path: Path) -> None:
    with pytest.raises(RunError, match="more than once"):
        read(tmp_path, "d.csv", "a,a\n1,2\n", [field("a")])


def test_an_empty_csv_has_no_rows(tmp_path: Path) -> None:
    assert read(tmp_path, "d.csv", "", [field("a")]) == ([], [])


def test_csv_cells_larger_than_the_csv_module_default_limit(tmp_path: Path) -> None:
    rows, rejects = read(tmp_path, "d.csv", "a\n" + "x" * 200_000 + "\n", [field("a")])
    assert rejects == [] and len(rows[0].fields["a"]) == 200_000


def test_tsv_has_no_quoting(tmp_path: Path) -> None:
    data = 'sentence\tlabel\nit\'s a "great" film \t1\n"unbalanced quote\t0\nragged\n'
    rows, rejects = read(tmp_path, "d.tsv", data, [field("sentence"), field("label", "int")])
    assert [r.fields for r in rows] == [{"sentence": 'it\'s a "great" film ', "label": 1},
                                        {"sentence": '"unbalanced quote', "label": 0}]
    assert [(r.rule, r.line) for r in rejects] == [("csv", 4)]


def test_format_comes_from_the_plan_not_the_extension(tmp_path: Path) -> None:
    rows, _ = read(tmp_path, "d.txt", "a\tb\n1\t2\n", [field("b", "int")], fmt="tsv")
    assert rows[0].fields == {"b": 2}


# ---------------------------------------------------------------- run errors


def test_a_missing_file_stops_the_run_before_any_row(tmp_path: Path) -> None:
    with pytest.raises(RunError) as caught:
        read_source(params("data/nope.jsonl", [field("a")]), tmp_path, "read:s", "s")  # not iterated
    error = caught.value
    assert "not found" in error.message and error.file == "data/nope.jsonl" and error.hint
    assert "data/nope.jsonl" in str(error)


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv", "tsv", "parquet"])
def test_every_format_reports_a_missing_file(tmp_path: Path, fmt: str) -> None:
    with pytest.raises(RunError, match="not found"):
        read_source(params(f"x.{fmt}", []), tmp_path, "read:s", "s")


def test_a_folder_is_not_an_input_file(tmp_path: Path) -> None:
    (tmp_path / "d.jsonl").mkdir()
    with pytest.raises(RunError, match="not a file"):
        read_source(params("d.jsonl", []), tmp_path, "read:s", "s")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_an_unreadable_file_stops_the_run(tmp_path: Path) -> None:
    target = tmp_path / "d.jsonl"
    target.write_bytes(jsonl({"a": "x"}))
    target.chmod(0)
    try:
        if target.open("rb"):  # root reads anything: nothing to test
            pytest.skip("running as root")
    except PermissionError:
        with pytest.raises(RunError, match="cannot read"):
            list(read_source(params("d.jsonl", [field("a")]), tmp_path, "read:s", "s"))
    finally:
        target.chmod(0o644)


def test_a_plan_with_an_unknown_format_or_type_stops_the_run(tmp_path: Path) -> None:
    (tmp_path / "d.jsonl").write_bytes(b"")
    with pytest.raises(RunError, match="unknown input format"):
        read_source(params("d.jsonl", [], fmt="xml"), tmp_path, "read:s", "s")
    with pytest.raises(RunError, match="unknown field type"):
        read_source(params("d.jsonl", [field("a", "date")]), tmp_path, "read:s", "s")


def test_run_error_has_message_hint_and_file() -> None:
    error = RunError("boom")
    assert (error.message, error.hint, error.file, str(error)) == ("boom", None, None, "boom")
    error = RunError("boom", hint="try this", file="a.jsonl")
    assert str(error) == "a.jsonl: boom (hint: try this)"


# ---------------------------------------------------------------- parquet


def test_parquet_without_pyarrow_says_how_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "d.parquet").write_bytes(b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # `import pyarrow` now raises ImportError
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(RunError) as caught:
        read_source(params("d.parquet", [field("a")]), tmp_path, "read:s", "s")
    assert caught.value.hint == PARQUET_HINT == "pip install 'recipekit[parquet]'"
    assert caught.value.file == "d.parquet"


def test_parquet_rows_are_read_with_paths_and_types(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table({
        "sentence": ["good", "bad", None],
        "label": [1, 0, 1],
        "answers": [[{"text": "a"}], [], [{"text": "c"}]],
        "unused": [1.0, 2.0, 3.0],
    })
    pq.write_table(table, tmp_path / "d.parquet", row_group_size=2)
    fields = [field("sentence", optional=True), field("label", "int"), field("first", path=["answers", 0, "text"])]
    rows, rejects = read(tmp_path, "d.parquet", None, fields)
    assert [(r.id.row, r.line, r.fields) for r in rows] == [
        (0, None, {"sentence": "good", "label": 1, "first": "a"}),
        (2, None, {"sentence": None, "label": 1, "first": "c"}),
    ]
    reject = only(rejects)
    assert reject.rule == "schema" and reject.row == 1 and reject.line is None
    assert reject.reason.startswith('row 1: required field "first" (answers[0].text) is missing')


def test_a_file_that_is_not_parquet_stops_the_run(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow.parquet")
    (tmp_path / "d.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(RunError, match="cannot read parquet"):
        read_source(params("d.parquet", [field("a")]), tmp_path, "read:s", "s")
