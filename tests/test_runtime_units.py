"""Runtime stages in isolation: rendering, paraphrase, selection, output formats."""

from __future__ import annotations

import itertools
import json
import random
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import numpy as np
import orjson
from xxhash import xxh3_64_intdigest

from recipekit.runtime.keyed import identity_key, stage_seed
from recipekit.runtime.normalize import dedup_key, make_normalizer
from recipekit.runtime.paraphrase import compile_rules, match_case, variants_of
from recipekit.runtime.processors import ExactDedup
from recipekit.runtime.records import Provenance, Reject, RowId, SourceRow
from recipekit.runtime.render import Renderer
from recipekit.runtime.select import MixSelector
from recipekit.runtime.format import format_example
from recipekit.runtime.atomic_file import write_atomically
from recipekit.runtime.manifest import file_facts
from recipekit.runtime.stats import RejectSink, StageStats
from recipekit.runtime.writer import order_picks, write_output, write_primary


def render_stage(**params) -> dict:
    base = {"instruction": [["Classify: ", {"field": "text", "optional": False, "formatters": ["trim"]}]],
            "input": [], "output": [[{"field": "label", "optional": False, "formatters": []}]],
            "choose": "random", "labels": {"label": [[0, "negative"], [1, "positive"]]}, "fewshot": None}
    base.update(params)
    return {"id": "render:t", "op": "render", "inputs": ["read:s"], "params": base}


def row(n: int, **fields) -> SourceRow:
    return SourceRow(RowId("s", n), fields, n + 1)


def test_render_verbalizes_labels_and_rejects_unknown_values() -> None:
    rejects: list = []
    out = Renderer(render_stage(), "t", 1).render([row(0, text=" good ", label=1), row(1, text="x", label=7)], rejects)
    assert [(e["instruction"], e["output"]) for e in out] == [("Classify: good", "positive")]
    assert rejects[0].rule == "labels" and rejects[0].row == 1 and "7" in rejects[0].reason


def test_render_each_emits_every_phrasing_and_random_is_keyed() -> None:
    stage = render_stage(instruction=[["A"], ["B"]], output=[["x"], ["y"], ["z"]], choose="each", labels={})
    out = Renderer(stage, "t", 1).render([row(0, text="", label=0)], [])
    assert sorted(e["_prov"].phrasing for e in out) == [(i, 0, j) for i in range(2) for j in range(3)]
    stage["params"]["choose"] = "random"
    picks = [Renderer(stage, "t", seed).render([row(5, text="", label=0)], [])[0]["instruction"] for seed in range(40)]
    assert set(picks) == {"A", "B"}  # both phrasings occur across seeds
    again = [Renderer(stage, "t", seed).render([row(5, text="", label=0)], [])[0]["instruction"] for seed in range(40)]
    assert picks == again


def test_optional_fields_render_empty() -> None:
    stage = render_stage(input=[["ctx: ", {"field": "ctx", "optional": True, "formatters": []}]], labels={})
    (example,) = Renderer(stage, "t", 0).render([row(0, text="a", label=0, ctx=None)], [])
    assert example["input"] == "ctx: "


def test_paraphrase_keeps_case_word_boundaries_and_placeholders() -> None:
    pattern, options = compile_rules([{"phrases": ["Write", "Compose"], "symmetric": True},
                                      {"phrases": ["list", "enumerate"], "symmetric": False}])
    found = {text for text, _ in variants_of("Write a list. WRITE {write} rewrite", pattern, options)}
    assert "Compose a list. WRITE {write} rewrite" in found
    assert "Write a enumerate. COMPOSE {write} rewrite" in found
    assert all("{write}" in text and "rewrite" in text for text in found)
    assert match_case("compose", "Write") == "Compose" and match_case("compose", "WRITE") == "COMPOSE"


def test_selection_does_not_depend_on_arrival_order(tmp_path: Path) -> None:
    stage = {"id": "mix:m", "op": "mix", "inputs": ["u"], "params": {
        "entries": [{"name": "a", "kind": "count", "value": 10, "cap": None}],
        "size": None, "temperature": None, "on_short": "error", "max_epochs": None}}
    examples = [{"_entry": "a", "_key": int.from_bytes(identity_key(f"r{i}"), "big"),
                 "instruction": "", "input": "", "output": "", "_prov": Provenance("s", i, 0)} for i in range(100)]
    chosen = []
    for attempt in range(3):
        write = {"id": "write:w", "params": {"format": "alpaca", "provenance": [], "system": None,
                                              "order": {"by": "random", "descending": False}}}
        selector = MixSelector(stage, 9, tmp_path / str(attempt), [write])
        shuffled = examples[:]
        random.Random(attempt).shuffle(shuffled)
        selector.add(shuffled)
        picks = order_picks(selector.picks(selector.solve()), selector, "write:w")
        chosen.append([selector.pools[0].identity[p.index] for p in picks])
    assert chosen[0] == chosen[1] == chosen[2]
    salt = stage_seed(9, "mix:m")
    smallest = sorted(examples, key=lambda e: xxh3_64_intdigest(e["_key"].to_bytes(8, "big"), salt))[:10]
    assert sorted(chosen[0]) == sorted(e["_key"] for e in smallest)


def test_output_formats() -> None:
    example = {"_key": 0xABC, "instruction": "Do it.", "input": "now", "output": "done",
               "_prov": Provenance("s", 3, 0, "t", (0, 0, 0))}
    alpaca = json.loads(format_example(example, {"format": "alpaca", "provenance": ["source", "row"],
                                                 "system": None}, 0))
    assert alpaca == {"id": "0000000000000abc", "instruction": "Do it.", "input": "now", "output": "done",
                      "provenance": {"source": "s", "row": 3, "part": 0}}
    chat = json.loads(format_example(example, {"format": "messages", "provenance": [], "system": "Be brief."}, 2))
    assert chat == {"id": "0000000000000abc-2", "messages": [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Do it.\n\nnow"},
        {"role": "assistant", "content": "done"}]}


_PIECES = ["a", "B", " ", "\t", "\n", "\u00a0", "\x1f", "\x00", ".", "É", "ﬁ", "", "x y", "！"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(*[st.lists(st.sampled_from(_PIECES), max_size=4).map("".join)] * 3), min_size=2,
                max_size=30),
       st.sampled_from([["lower", "whitespace"], ["whitespace"], ["nfkc", "lower", "punctuation", "whitespace"]]))
def test_joined_dedup_key_partitions_like_the_per_field_key(rows, names) -> None:
    """The fast joined key and `dedup_key` agree on which examples are duplicates."""
    dedup = ExactDedup({"id": "d", "params": {"fields": ["a", "b", "c"], "normalize": names}})
    normalize = make_normalizer(names)
    for left, right in itertools.combinations(rows, 2):
        fast = dedup.key(dict(zip("abc", left))) == dedup.key(dict(zip("abc", right)))
        slow = dedup_key(list(left), normalize) == dedup_key(list(right), normalize)
        assert fast == slow, (left, right)


def test_fast_and_slow_write_paths_give_the_same_bytes(tmp_path: Path) -> None:
    """The ordered spill (first output of a mix) and reading examples back give one order."""
    stage = {"id": "mix:m", "op": "mix", "inputs": ["u"], "params": {
        "entries": [{"name": "a", "kind": "count", "value": 25, "cap": None},
                    {"name": "b", "kind": "count", "value": 4, "cap": None}],
        "size": None, "temperature": None, "on_short": "repeat", "max_epochs": None}}
    write = {"id": "write:w", "params": {"format": "alpaca", "provenance": ["row"], "system": None,
                                        "order": {"by": "random", "descending": False}}}
    selector = MixSelector(stage, 5, tmp_path / "mix", [write])
    selector.add([{"_entry": entry, "_key": int.from_bytes(identity_key(f"{entry}{i}"), "big"),
                   "instruction": f"{entry}{i}", "input": "", "output": "x", "_prov": Provenance("s", i, 0)}
                  for entry, count in (("a", 10), ("b", 6)) for i in range(count)])
    picks = selector.picks(selector.solve())
    assert sum(p.epoch > 0 for p in picks) == 15  # `a`: 10 rows asked for 25
    fast, slow = tmp_path / "fast.jsonl", tmp_path / "slow.jsonl"
    fast_written = write_primary(fast, picks, selector, write["params"])
    slow_written = write_output(slow, order_picks(picks, selector, "write:w"), selector, write["params"])
    assert fast.read_bytes() == slow.read_bytes()
    assert fast_written.rows == slow_written.rows == 29
    # the facts hashed while writing are the file's (the manifest takes them on trust)
    assert fast_written.facts() == slow_written.facts() == file_facts(fast)


def test_unsampled_rejects_encode_as_the_reject_records_do(tmp_path: Path) -> None:
    """The fast encoding of `unsampled` rejects is byte for byte what each Reject gives."""
    stage = {"id": "mix:m", "op": "mix", "inputs": ["u"], "params": {
        "entries": [{"name": "a", "kind": "count", "value": 7, "cap": None},
                    {"name": "b\u00e9 `x`", "kind": "count", "value": 2, "cap": None}],
        "size": None, "temperature": None, "on_short": "error", "max_epochs": None}}
    selector = MixSelector(stage, 3, tmp_path / "mix", [])
    selector.add([{"_entry": entry, "_key": int.from_bytes(identity_key(f"{entry}{i}"), "big"),
                   "instruction": f"x{i}", "input": "", "output": "y", "_prov": Provenance("s\"rc", i, i % 2)}
                  for entry, count in (("a", 20), ("b\u00e9 `x`", 9)) for i in range(count)])
    picks = selector.picks(selector.solve())
    slow = b""
    for number, pool in enumerate(selector.pools):  # the oracle: a Reject record each, encoded
        for i in np.flatnonzero(~picks.taken(number, len(pool.keys))).tolist():
            reject = Reject("mix:m", "unsampled", f"not drawn for entry `{pool.name}`",
                            format(pool.identity[i], "016x"), pool.source, pool.rows[i], pool.parts[i])
            slow += orjson.dumps(reject.to_json()) + b"\n"
    fast = b"".join(encoded for _count, encoded in selector.unsampled(picks))
    assert fast == slow and slow.count(b"\n") == 20 - 7 + 9 - 2


def test_the_reject_sink_keeps_each_stages_order_across_its_own_and_borrowed_bytes(tmp_path: Path) -> None:
    """Rejects a stage wrote and rejects replayed in place from a cache file: copied
    since a snapshot (for a cache unit) and concatenated in plan order, with the facts
    of the file taken as it is written."""
    sink = RejectSink(tmp_path)
    a, b = StageStats("a", "filter.length"), StageStats("b", "dedup.exact")
    sink.add_encoded(a, Counter(short=2), b"a1\na2\n")
    sink.add_encoded(b, Counter(duplicate=1), b"b1\n")
    before = sink.positions()
    sink.add_encoded(a, Counter(short=1), b"a3\n")  # the same spill file, contiguous: one range
    cached = tmp_path / "cached.jsonl"
    cached.write_bytes(b"junk\nc1\nc2\n")
    sink.append("b", sink.borrow(cached.open("rb")), 5, 11, 2)
    sink.add_encoded(b, Counter(duplicate=1), b"b2\n")
    with (tmp_path / "since.jsonl").open("wb") as out:
        copied = sink.copy_since(before, out)
    assert copied == [("a", 3, 1), ("b", 9, 3)]
    assert (tmp_path / "since.jsonl").read_bytes() == b"a3\nc1\nc2\nb2\n"
    with (tmp_path / "only.jsonl").open("wb") as out:
        assert sink.copy_since({}, out, only={"b"}) == [("b", 12, 4)]
    assert (tmp_path / "only.jsonl").read_bytes() == b"b1\nc1\nc2\nb2\n"
    facts = sink.finish(["b", "a"], tmp_path / "rejects.jsonl")
    assert (tmp_path / "rejects.jsonl").read_bytes() == b"b1\nc1\nc2\nb2\na1\na2\na3\n"
    assert facts == file_facts(tmp_path / "rejects.jsonl", lines=True) and facts["lines"] == sink.count == 7


def test_a_file_written_atomically_appears_whole_or_not_at_all(tmp_path: Path) -> None:
    target = tmp_path / "out" / "data.jsonl"
    written = write_atomically(target, lambda out: out.writelines([b"a\n", b"bc\n"]) or 2, sync=True)
    assert target.read_bytes() == b"a\nbc\n" and written.rows == 2 and written.facts() == file_facts(target)

    def fails(out) -> int:
        out.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        write_atomically(target, fails)
    assert target.read_bytes() == b"a\nbc\n"  # the old file, untouched
    assert sorted(p.name for p in target.parent.iterdir()) == ["data.jsonl"]  # no .partial left behind
