"""`recipekit why` on a terminal: one block per match (runtime/lineage.py), with
the example's texts, its decisions (✓ passed, ✗ dropped, with what the rule
measured; the label says the threshold) and its dedup clusters.
"""

from __future__ import annotations

from rich.console import Group
from rich.text import Text

_CLIP = 240  # characters of each text shown; the outputs and rejects hold the whole


def clip(text: str, limit: int = _CLIP) -> str:
    text = text.replace("\n", "⏎ ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _value(step: dict) -> str:
    """What the rule measured, in words (the label already says the threshold)."""
    value, op = step["value"], step["op"]
    if op == "filter.regex" and step["verdict"] == "pass":
        return "no match" if value is None else f"matched {clip(str(value), 40)!r}"
    if value is None:
        return ""
    if isinstance(value, dict) and "kept" in value:
        return f"{value['kept']} at {value['similarity']}"
    if op == "dedup.exact":
        return f"key {value}"
    if op == "render":
        return "phrasing " + "(" + ", ".join(map(str, value)) + ")"
    if op == "expand":
        return f"variant {value}"
    return clip(str(value), 60)


def _heading(match: dict) -> Text:
    if match["id"] is None:
        title = f"source row {match['identity']['source']}/{match['identity']['row']}"
    else:
        title = f"example {match['id']}" + (f" in {match['mix']}" if match["mix"] else "")
    state = "written" if match["status"] == "written" else f"rejected at {match['rejected_at']}"
    return Text.assemble((title, "bold"), " — ", (state, "green" if match["status"] == "written" else "red"))


def _origin(identity: dict | None) -> list[Text]:
    if identity is None:
        return [Text("  origin: not derivable from this run directory", style="yellow")]
    where = f"{identity['source']} row {identity['row']}"
    if identity.get("part"):
        where += f" part {identity['part']}"
    if identity.get("line"):
        where += f", line {identity['line']}"
    lines = [Text(f"  source   {where} ({identity['file']})")]
    if identity.get("template"):
        lines.append(Text(f"  template {identity['template']}, phrasing {tuple(identity['phrasing'])}"))
    elif identity.get("parent"):
        rules = identity["paraphrase"]
        applied = ", ".join(rules) if rules else "not recorded" if rules is None else "none"
        lines.append(Text(f"  expanded from {identity['parent']} (variant {identity['variant']}); rules: {applied}"))
    return lines


def _texts(example: dict | None) -> list[Text]:
    if example is None:
        return []
    lines = []
    for field in ("instruction", "input", "output"):
        lines.append(Text.assemble((f"  {field:<11} ", "dim"), clip(example[field]) or "(empty)"))
    if example.get("split") == "assumed":
        lines.append(Text("  (instruction and input split at the first blank line of the user turn)", style="dim"))
    return lines


def _steps(match: dict) -> list[Text]:
    lines = []
    for step in match["steps"]:
        passed = step["verdict"] == "pass"
        value = _value(step)
        lines.append(Text.assemble("  ", ("✓ " if passed else "✗ ", "green" if passed else "red"), step["label"],
                                   (" → " + value if value else ""), style="" if passed else "bold"))
        for extra in (step["reason"], step["note"]):
            if extra:
                lines.append(Text("      " + clip(extra, 300), style="dim"))
    return lines


def _clusters(match: dict) -> list[Text]:
    lines = []
    for cluster in match["clusters"]:
        members = ", ".join(m["id"] + (f" ({m['similarity']})" if m["similarity"] is not None else "")
                            for m in cluster["members"][:8])
        more = len(cluster["members"]) - 8
        kept = cluster["kept"] or "not in this run directory (unsampled or dropped later)"
        lines.append(Text(f"  {cluster['kind']} duplicates at {cluster['stage']}: kept {kept}; "
                          f"{len(cluster['members'])} dropped" + (f": {members}" if members else "")
                          + (f" and {more} more" if more > 0 else "")))
    return lines


def render_match(match: dict) -> Group:
    parts = [_heading(match), *_origin(match["identity"]), *_texts(match["example"]), *_steps(match),
             *_clusters(match)]
    return Group(*parts)


def render_answers(answers: dict[str, list[dict]]) -> Group:
    blocks = []
    for matches in answers.values():
        for match in matches:
            blocks += [render_match(match), Text("")]
    return Group(*blocks[:-1])
