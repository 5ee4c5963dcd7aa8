"""A stage in words, from its plan params: `length output chars 1..4000`
rather than `filter.length:blend/clean/1`. The summary, the report and
`recipekit why` name stages this way, close to how the recipe wrote them.
"""

from __future__ import annotations


def _fields(names: list[str]) -> str:
    return names[0] if len(names) == 1 else "(" + ", ".join(names) + ")"


def _quoted(pattern: str) -> str:
    """A pattern as a recipe writes it: raw when it has a backslash."""
    return ("r" if "\\" in pattern else "") + '"' + pattern + '"'


def _label(op: str, p: dict, name: str) -> str:
    if op == "filter.length":
        return f"length {p['field']} {p['unit']} {p['min']}..{p['max']}"
    if op == "filter.regex":
        return f"{p['action']} {p['field']} matches {_quoted(p['pattern'])}"
    if op == "filter.required":
        return f"require {_fields(p['fields'])}"
    if op == "dedup.exact":
        return f"dedup exact on {_fields(p['fields'])}"
    if op == "dedup.near":
        return f"dedup near on {_fields(p['fields'])} {p['metric']} >= {p['threshold']}"
    if op == "score":
        return f"score {p['scorer']} >= {p['threshold']}"
    if op == "agreement":
        return f"agreement >= {p['threshold']}"
    if op == "decontaminate":
        return f"decontaminate against {p['against']}"
    if op == "render":
        return f"template {name}"
    if op == "write":
        return f"write {p['path']}"
    return f"{op} {name}"


def stage_label(stage: dict) -> str:
    return _label(stage["op"], stage["params"], stage["id"].split(":", 1)[1])


def entry_spec(entry: dict) -> str:
    """A mix entry's declaration as the recipe wrote it: `30%`, `weight 3 cap 30`, `5 rows`."""
    value = entry["value"]
    number = f"{value:g}"
    text = {"share": f"{number}%", "weight": f"weight {number}", "count": f"{number} rows",
            "fraction": f"{number}% of source"}[entry["kind"]]
    return text + (f" cap {entry['cap']}" if entry["cap"] is not None else "")


def declared_shares(params: dict, size: int, available: list[int]) -> list[float | None]:
    """Each entry's declared share of the mix: shares as written, weights normalised
    after the temperature, counts over the size, `% of source` of the rows the entry
    had after filtering (what the declaration implies), over the size."""
    entries = params["entries"]
    temperature = params.get("temperature") or 1
    weights = [e["value"] ** (1 / temperature) for e in entries if e["kind"] == "weight"]
    total = sum(weights) or 1
    shares: list[float | None] = []
    for entry, rows in zip(entries, available):
        kind, value = entry["kind"], entry["value"]
        if kind == "share":
            shares.append(value / 100)
        elif kind == "weight":
            shares.append(value ** (1 / temperature) / total)
        elif not size:
            shares.append(None)
        else:
            shares.append((value if kind == "count" else value / 100 * rows) / size)
    return shares


def phrasing_text(segments: list) -> str:
    """A template phrasing as the recipe wrote it: literals and `{field?|lower}` placeholders."""
    parts = []
    for segment in segments:
        if isinstance(segment, str):
            parts.append(segment)
        else:
            optional = "?" if segment["optional"] else ""
            parts.append("{" + segment["field"] + optional + "".join("|" + f for f in segment["formatters"]) + "}")
    return "".join(parts)
