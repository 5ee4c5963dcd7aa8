"""No data file a user can write crashes a run: every bad row becomes a reject,
and every row is accounted for. Random JSONL and CSV content through a recipe
that uses most stages."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recipekit.compiler.compile import compile_file
from recipekit.runtime.engine import RunSettings
from recipekit.runtime.run import run_plan

RECIPE = """\
recipe fuzz {
  seed = 3
}

source rows {
  from = "rows.FORMAT"
  schema {
    instruction: str
    context: str?
    output: str
    label: int?
    tags: list[str]?
  }
  labels label {
    0 = "no"
    1 = "yes"
  }
}

template t on rows {
  instruction = ["{instruction}", "Please: {instruction|trim}"]
  input = "{context?} {label?}"
  output = "{output|lower}"
}

filter f {
  length output chars 1..200
  drop output matches r"(?i)as an ai"
  require instruction
  dedup exact on (instruction, input, output) normalize (nfkc, lower, punctuation, whitespace)
  dedup near on instruction jaccard >= 0.8
  score heuristic >= 0.1
}

mix train {
  filter = f
  on_short = shrink
  t = 70%
  rows = 30%
}

output train {
  to = "train.jsonl"
  format = messages
  provenance = true
}
"""

_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
_value = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=False), _text,
                   st.lists(_text, max_size=3))
_record = st.dictionaries(st.sampled_from(["instruction", "context", "output", "label", "tags", "x"]),
                          _value, max_size=6)
_line = st.one_of(
    _record.map(lambda r: json.dumps(r, ensure_ascii=False)),
    st.builds(lambda i, o: json.dumps({"instruction": i, "output": o}), _text, _text),
    st.sampled_from(["", "   ", "{", "[1, 2]", "null", '"text"', '{"instruction": """"}', "\ufeff{}", "{}\r"]),
    _text,
)


def run(tmp_path: Path, data: bytes, fmt: str) -> dict:
    (tmp_path / f"rows.{fmt}").write_bytes(data)
    recipe = tmp_path / "fuzz.recipe"
    recipe.write_text(RECIPE.replace("FORMAT", fmt))
    plan = compile_file(recipe).plan
    assert plan is not None
    manifest, _ = run_plan(plan, RunSettings(root=tmp_path, run_dir=tmp_path / "run", batch_size=7))
    return manifest


def accounted(manifest: dict) -> None:
    read = next(s for s in manifest["stages"] if s["op"] == "read")
    assert read["rows_in"] == read["rows_out"] + sum(read["dropped"].values())
    for mix in manifest["accounting"]["mixes"]:
        assert mix["examples_in"] == mix["rejected"] + mix["unsampled"] + mix["selected"]


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(lines=st.lists(_line, max_size=25), raw=st.binary(max_size=40))
def test_random_jsonl_never_crashes_a_run(tmp_path_factory, lines, raw) -> None:
    tmp_path = tmp_path_factory.mktemp("fuzz")
    data = "\n".join(lines).encode("utf-8", "surrogatepass") + b"\n" + raw
    accounted(run(tmp_path, data, "jsonl"))


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(cells=st.lists(st.lists(_text, max_size=6), max_size=15), header=st.booleans())
def test_random_csv_never_crashes_a_run(tmp_path_factory, cells, header) -> None:
    tmp_path = tmp_path_factory.mktemp("fuzz")
    rows = ([["instruction", "context", "output", "label", "tags"]] if header else []) + cells
    data = "\n".join(",".join('"' + c.replace('"', '""') + '"' for c in row) for row in rows).encode()
    accounted(run(tmp_path, data, "csv"))
