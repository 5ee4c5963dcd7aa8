"""What a run shows on the terminal: live progress per source, then a summary.

Progress counts rows read per source (the stages after a read advance with
it, batch by batch). The summary is one table: each stage's rows in and out,
its drops by reason, and its time; then the mix allocations.
"""

from __future__ import annotations

from rich.console import Console, Group
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text


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


def summary(manifest: dict) -> Group:
    table = Table(title=Text("stages"), title_justify="left", box=None, pad_edge=False)
    for column, justify in (("stage", "left"), ("in", "right"), ("out", "right"), ("dropped", "left"),
                            ("seconds", "right")):
        table.add_column(column, justify=justify, overflow="fold")
    for stage in manifest["stages"]:
        dropped = ", ".join(f"{reason} {count:,}" for reason, count in stage["dropped"].items())
        table.add_row(stage["id"], f"{stage['rows_in']:,}", f"{stage['rows_out']:,}", dropped,
                      f"{stage['seconds']:.2f}")
    parts = [table]
    for mix in manifest["mixes"]:
        parts.append(_mix_table(mix))
    for cost in manifest["costs"]:
        parts.append(Text(f"cost of `{cost['source']}`: {cost['rows_used']:,} of {cost['rows_read']:,} rows used, "
                          f"${cost['usd_used']:,.2f} of ${cost['usd_read']:,.2f}"))
    written = sum(o["rows"] for o in manifest["outputs"])
    parts.append(Text(f"{written:,} examples written, {manifest['rejects']['rows']:,} rejects "
                      f"in {manifest['seconds']:.2f} s", style="bold"))
    return Group(*parts)


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


def _mix_table(mix: dict) -> Group:
    # Text, not a string: `mix:train` must not become an emoji shortcode; and a line of
    # its own rather than the table's title, which would wrap at the table's width
    diversity = mix["diversity"]
    title = Text(f"{mix['stage']}: {mix['size']:,} examples, verb diversity {diversity['score']:.2f} "
                 f"({diversity['distinct_verbs']} verbs)" + _targets(diversity["targets"]), style="italic")
    table = Table(box=None, pad_edge=False)
    for column in ("entry", "available", "taken", "epochs", "share"):
        table.add_column(column, justify="left" if column == "entry" else "right")
    for entry in mix["entries"]:
        share = entry["taken"] / mix["size"] if mix["size"] else 0.0
        epochs = f"{entry['epochs']:.2f}" if entry["epochs"] is not None else "-"
        table.add_row(entry["name"], f"{entry['available']:,}", f"{entry['taken']:,}", epochs, f"{share:.1%}")
    return Group(title, table)
