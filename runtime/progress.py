"""What a run shows on the terminal: live progress per source, then a summary.

Progress counts rows read per source (the stages after a read advance with
it, batch by batch). The summary fits 80 columns: the sources (rows read and
kept, rejects by reason), then per mix its funnel (rows left after each
filter, as a number and a bar, drops by reason, seconds) and its allocation
(declared, available, taken, share), then costs, agreement and totals. The
HTML report (runtime/report_html.py) shows the same per entry, with charts.
"""

from __future__ import annotations

from rich.console import Console, Group
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from .plan_graph import filter_chain
from .stage_labels import entry_spec, stage_label


class RunProgress:
    """A rich progress display fed by the engine's `progress(stage_id, rows)` callback."""

    def __init__(self, console: Console, totals: dict[str, int | None]) -> None:
        self.progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=console, transient=True,
        )
        self.tasks = {stage: self.progress.add_task(stage, total=total) for stage, total in totals.items()}

    def __enter__(self) -> RunProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)

    def __call__(self, stage_id: str, rows: int) -> None:
        task = self.tasks.get(stage_id)
        if task is not None:
            self.progress.update(task, completed=rows)


def summary(manifest: dict, plan: dict | None = None) -> Group:
    """The sources, each mix's funnel and its allocation, then costs and totals; tables
    with bar cells that fit 80 columns. With the plan, stages are named as the recipe
    wrote them (`length output chars 1..4000`) and entries show what was declared."""
    stages = {s["id"]: s for s in plan["stages"]} if plan else {}
    parts = [_sources_table(manifest)]
    for mix in manifest["mixes"]:
        parts += [Text(""), _funnel_table(manifest, mix, stages), _mix_table(mix, stages.get(mix["stage"]))]
    for report in manifest.get("agreement", []):
        value = "n/a" if report["value"] is None else f"{report['value']:.3f}"
        parts.append(Text(f"agreement at {report['stage']}: {report['method']} {value}, "
                          f"{report['items_kept']:,} of {report['items']:,} items kept"))
    for cost in manifest["costs"]:
        parts.append(Text(f"cost of `{cost['source']}`: {cost['rows_used']:,} of {cost['rows_read']:,} rows used, "
                          f"${cost['usd_used']:,.2f} of ${cost['usd_read']:,.2f}"))
    written = sum(o["rows"] for o in manifest["outputs"] if "#" not in o["stage"])
    parts.append(Text(f"{written:,} examples written, {manifest['rejects']['rows']:,} rejects "
                      f"in {manifest['seconds']:.2f} s", style="bold"))
    return Group(*parts)


_EIGHTHS = " ▏▎▍▌▋▊▉"


def cache_line(manifest: dict, wrap: bool = True) -> str:
    """Which stages came from the stage cache this run, and which were computed."""
    stages = manifest["stages"]
    if not any("cache" in s for s in stages):
        return "stage cache: off (--no-cache)"
    reused = [s["id"] for s in stages if s.get("cache") == "reused"]
    computed = [s["id"] for s in stages if s.get("cache") != "reused"]
    if not reused:
        return f"stage cache: all {len(stages)} stages computed"
    then = "\n  computed: " if wrap else "; computed: "
    return f"stage cache: {len(reused)} of {len(stages)} stages reused: {', '.join(reused)}{then}{', '.join(computed)}"


def bar(value: float, top: float, width: int = 10) -> Text:
    """A bar of `width` cells at most, to an eighth of a cell."""
    eighths = round(8 * width * min(value, top) / top) if top > 0 else 0  # repeats can exceed the top
    full, rest = divmod(eighths, 8)
    return Text("█" * full + (_EIGHTHS[rest] if rest else ""), style="cyan")


def _dropped(dropped: dict) -> str:
    return ", ".join(f"{reason} {count:,}" for reason, count in dropped.items())


def _table(title: str) -> Table:
    # a Text title: `mix:train` must not become an emoji shortcode
    return Table(title=Text(title, style="bold"), title_justify="left", box=None, pad_edge=False,
                 header_style="dim", padding=(0, 1))


def _sources_table(manifest: dict) -> Table:
    """Per source, rows read and kept (a bar), what was rejected, and time; under it the
    templates and expansions that read it (a row without a verbalizer word drops there)."""
    table = _table("sources")
    table.add_column("source", overflow="ellipsis", max_width=26, no_wrap=True)
    table.add_column("in", justify="right")
    table.add_column("out", justify="right")
    table.add_column("", width=10, no_wrap=True)
    table.add_column("rejected", overflow="fold", max_width=20)
    table.add_column("s", justify="right")
    makers = [s for s in manifest["stages"] if s["op"] in ("read", "render", "expand")]
    top = max((s["rows_out"] for s in makers), default=0)
    for stage in makers:
        name = stage["id"].split(":", 1)[1]
        label = name if stage["op"] == "read" else f"  {'template' if stage['op'] == 'render' else 'expand'} {name}"
        table.add_row(label, f"{stage['rows_in']:,}", f"{stage['rows_out']:,}", bar(stage["rows_out"], top),
                      _dropped(stage["dropped"]), f"{stage['seconds']:.2f}",
                      style="" if stage["op"] == "read" else "dim")
    return table


def _funnel_table(manifest: dict, mix: dict, stages: dict) -> Table:
    """The mix's chain, from the examples its entries made to what it drew: rows left
    after each step (a bar against the first), drops by reason, seconds."""
    chain = _chain_of(manifest, mix["stage"], stages)
    by_id = {s["id"]: s for s in manifest["stages"]}
    name = mix["stage"].split(":", 1)[1]
    table = _table(f"{name}: funnel")
    table.add_column("step", overflow="ellipsis", max_width=32, no_wrap=True)
    table.add_column("rows", justify="right")
    table.add_column("", width=10, no_wrap=True)
    table.add_column("dropped", overflow="fold", max_width=20)
    table.add_column("s", justify="right")
    steps = [by_id[i] for i in chain if i in by_id] + [by_id[mix["stage"]]]
    top = steps[0]["rows_in"] if steps else 0
    table.add_row("examples from the entries", f"{top:,}", bar(top, top), "", "")
    for step in steps:
        label = "drawn by the mix" if step["op"] == "mix" else _label(step, stages)
        table.add_row(label, f"{step['rows_out']:,}", bar(step["rows_out"], top), _dropped(step["dropped"]),
                      f"{step['seconds']:.2f}")
    return table


def _chain_of(manifest: dict, mix_id: str, stages: dict) -> list[str]:
    """The mix's filter stages in order: from the plan, else by the `op:mix/...` id convention."""
    if stages:
        _, chain = filter_chain(stages, stages[mix_id])
        return [s["id"] for s in chain]
    prefix = mix_id.split(":", 1)[1] + "/"
    return [s["id"] for s in manifest["stages"] if s["id"].split(":", 1)[1].startswith(prefix)]


def _label(step: dict, stages: dict) -> str:
    if step["id"] not in stages:
        return step["id"]
    return stage_label(stages[step["id"]])


def _targets(targets: dict | None) -> str:
    """Achieved against declared: `; max verb share 0.33 <= 0.34; short: a 2`."""
    if targets is None:
        return ""
    parts = []
    if targets["max_verb_share"] is not None:
        parts.append(f"max verb share {targets['achieved_max_share']:.2f} <= {targets['max_verb_share']}")
    if targets["min_verb_diversity"] is not None:
        parts.append(f"diversity target {targets['min_verb_diversity']}")
    if targets["balance"] is not None:
        counts = ", ".join(f"{value} {n}" for value, n in targets["balance"]["counts"].items())
        parts.append(f"balanced on `{targets['balance']['field']}`: {counts}")
    if targets["short"]:
        parts.append("short: " + ", ".join(f"{name} {n}" for name, n in targets["short"].items()))
    return "; " + "; ".join(parts)


def _mix_table(mix: dict, stage: dict | None) -> Group:
    """Each entry's declaration, what was available and taken, and the share (a bar)."""
    diversity = mix["diversity"]
    name = mix["stage"].split(":", 1)[1]
    title = Text(f"{name}: {mix['size']:,} examples, verb diversity {diversity['score']:.2f} "
                 f"({diversity['distinct_verbs']} verbs)" + _targets(diversity["targets"]), style="italic")
    table = Table(box=None, pad_edge=False, header_style="dim", padding=(0, 1))
    table.add_column("entry", overflow="ellipsis", max_width=22, no_wrap=True)
    table.add_column("declared", overflow="ellipsis", max_width=18, no_wrap=True)
    for column in ("available", "taken", "epochs", "share"):
        table.add_column(column, justify="right")
    table.add_column("", width=10, no_wrap=True)
    declared = {e["name"]: e for e in stage["params"]["entries"]} if stage else {}
    for entry in mix["entries"]:
        share = entry["taken"] / mix["size"] if mix["size"] else 0.0
        epochs = f"{entry['epochs']:.2f}" if entry["epochs"] is not None else "-"
        spec = _spec(declared.get(entry["name"]))
        table.add_row(entry["name"], spec, f"{entry['available']:,}", f"{entry['taken']:,}", epochs, f"{share:.1%}",
                      bar(share, 1.0))
    return Group(title, table)


def _spec(entry: dict | None) -> str:
    if entry is None:
        return "-"
    return entry_spec(entry)
