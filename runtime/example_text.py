"""An output record's example texts: instruction, input and output.

An alpaca record has them as fields. A `messages` record joins instruction
and input into the user turn with a blank line (runtime/format.py), so the
split is recovered: exactly when the record's provenance has the content
hash (the split whose hash matches) or when the template's instruction or
input phrasing is literal text (a template without an input gives it all to
the instruction); otherwise at the first blank line, which is right unless
the instruction itself holds one.
"""

from __future__ import annotations

from .keyed import content_hash

SEPARATOR = "\n\n"


def literal(segments: list) -> str | None:
    """A phrasing's text when it has no placeholder."""
    return "".join(segments) if all(isinstance(s, str) for s in segments) else None


def texts_of(record: dict, instruction: str | None = None, input_text: str | None = None) -> dict:
    """{"instruction", "input", "output", "split"}; `instruction`, `input_text`: the literal
    phrasings, when known. `split` says how a user turn was cut: fields, hash, phrasing or assumed."""
    if "messages" not in record:
        return {"instruction": record.get("instruction", ""), "input": record.get("input", ""),
                "output": record.get("output", ""), "split": "fields"}
    turns = {m["role"]: m["content"] for m in record["messages"]}
    user, output = turns.get("user", ""), turns.get("assistant", "")
    wanted = (record.get("provenance") or {}).get("hash")
    if wanted:
        for left, right in _splits(user):
            if content_hash(left, right, output) == wanted:
                return {"instruction": left, "input": right, "output": output, "split": "hash"}
    if instruction is not None and (user == instruction or user.startswith(instruction + SEPARATOR)):
        return {"instruction": instruction, "input": user[len(instruction) + len(SEPARATOR):],
                "output": output, "split": "phrasing"}
    if input_text == "" or (input_text and user.endswith(SEPARATOR + input_text)):
        cut = len(user) - (len(SEPARATOR + input_text) if input_text else 0)
        return {"instruction": user[:cut], "input": input_text, "output": output, "split": "phrasing"}
    left, _, right = user.partition(SEPARATOR)
    return {"instruction": left, "input": right, "output": output, "split": "assumed"}


def _splits(user: str):
    yield user, ""
    start = user.find(SEPARATOR)
    while start != -1:
        yield user[:start], user[start + len(SEPARATOR):]
        start = user.find(SEPARATOR, start + 1)
