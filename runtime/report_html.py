"""The run report as one self-contained HTML file: inline CSS and SVG, no
script, nothing fetched, so it opens from a laptop, a CI artifact or an
air-gapped machine alike. Numbers come from runtime/report_data.py; every
text that came from data or the recipe goes through `html.escape`.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from . import svg_charts as charts
from .atomic_file import write_text_atomically
from .progress import cache_line
from .report_data import BINS, Cluster, MixReport, ReportData, Step, bin_label, build
from .run_files import RunFiles

REPORT_NAME = "report.html"
CLIP = 400  # characters of an example's text shown in a sample

_CSS = """
:root{--ink:#1d2733;--mute:#5b6877;--line:#dde3ea;--bg:#f7f9fb;--drop:#b3261e;--ok:#1b7f3b}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);margin:0;background:#fff}
main{max-width:1120px;margin:0 auto;padding:24px}
header{border-bottom:2px solid var(--line);margin-bottom:8px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:32px 0 8px;border-bottom:1px solid var(--line)}
h3{font-size:15px;margin:20px 0 6px;color:var(--mute);text-transform:uppercase;letter-spacing:.04em}
nav{font-size:13px;margin:8px 0 16px}nav a{margin-right:14px;color:#0b5cad;text-decoration:none}
.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;font-size:13px;margin:8px 0}
.facts dt{color:var(--mute)}.facts dd{margin:0;font-family:ui-monospace,monospace;word-break:break-all}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:12px 0}
.card{background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:8px 14px;min-width:150px}
.card b{display:block;font-size:22px}.card span{color:var(--mute);font-size:12px}
table{border-collapse:collapse;margin:6px 0 12px;font-size:13px;width:100%}
th,td{border-bottom:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
th{background:var(--bg);font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}td.num{white-space:nowrap}
.scroll{overflow-x:auto}
table.funnel td:first-child{min-width:200px}
.drop{color:var(--drop);font-size:12px;display:block}
.mute{color:var(--mute)}.ok{color:var(--ok)}
.bar{display:inline-block;height:9px;background:#0072B2;border-radius:2px;vertical-align:middle;margin-left:6px}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:10px 18px}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:12px;font-size:12px}
.panel{border:1px solid var(--line);border-radius:6px;padding:8px 10px}
.panel h4{margin:0 0 4px;font-size:13px}
h4{font-size:14px;margin:16px 0 4px}
svg.chart{max-width:100%;height:auto;font:12px system-ui,sans-serif;fill:var(--ink)}
svg .num{fill:var(--mute);font-size:11px}svg .tick{font-size:10px;fill:var(--mute)}
svg .axis{stroke:var(--line)}
.example{white-space:pre-wrap;word-break:break-word;font-size:12.5px;margin:0}td.text{min-width:8em}
details{margin:4px 0}summary{cursor:pointer;color:#0b5cad}
footer{margin-top:40px;color:var(--mute);font-size:12px;border-top:1px solid var(--line);padding-top:8px}
"""


def write_report(run_dir: Path) -> Path:
    """Write RUN_DIR/report.html atomically; returns its path."""
    run_dir = Path(run_dir)
    text = render(build(RunFiles(run_dir)))
    path = run_dir / REPORT_NAME
    write_text_atomically(path, text)
    return path


def render(data: ReportData) -> str:
    manifest = data.manifest
    name = manifest["recipe"]["name"]
    sections = [_overview(data), _sources(data)]
    sections += [_mix(mix, data) for mix in data.mixes]
    sections += [_human(manifest), _clusters(data.clusters, data.stage_labels), _rejects(data)]
    nav = "".join(f'<a href="#{anchor}">{escape(title)}</a>' for anchor, title in _toc(data))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{escape(name)} — recipekit run report</title><style>{_CSS}</style></head>"
            f"<body><main>{_header(manifest)}<nav>{nav}</nav>{''.join(sections)}{_footer(manifest)}</main>"
            "</body></html>\n")


def _toc(data: ReportData) -> list[tuple[str, str]]:
    return ([("overview", "Overview"), ("sources", "Sources")]
            + [(_anchor(m), f"mix {m.name}") for m in data.mixes]
            + [("human", "Agreement & cost"), ("dedup", "Duplicates"), ("rejects", "Rejected samples")])


def _anchor(mix: MixReport) -> str:
    return "mix-" + "".join(c if c.isalnum() else "-" for c in mix.name)


# -- pieces --------------------------------------------------------------------------


def _num(value) -> str:
    return f"{value:,}" if isinstance(value, int) else "–" if value is None else f"{value:,.2f}"


def _measure(value: float | None) -> str:
    """An agreement or kappa: three decimals."""
    return "–" if value is None else f"{value:.3f}"


def _td(value, extra: str = "", shown: str | None = None) -> str:
    """A number cell; `data-value` holds the exact value for tools (and tests) to read."""
    data = f' data-value="{escape(str(value))}"' if value is not None else ""
    return f'<td class="num"{data}>{_num(value) if shown is None else shown}{extra}</td>'


def _drops(dropped: dict) -> str:
    return "".join(f'<span class="drop">−{count:,} {escape(rule)}</span>' for rule, count in dropped.items())


def _bar(value: float, top: float) -> str:
    width = 0 if not top else round(100 * value / top)
    return f'<span class="bar" style="width:{width}px" title="{value:,}"></span>'


def _table(head: list[str], rows: list[str], table_id: str = "", numeric: set[int] = frozenset(),
           css: str = "") -> str:
    ident = (f' id="{escape(table_id)}"' if table_id else "") + (f' class="{css}"' if css else "")
    cells = "".join(f'<th class="num">{escape(h)}</th>' if n in numeric else f"<th>{escape(h)}</th>"
                    for n, h in enumerate(head))
    return f"<table{ident}><thead><tr>{cells}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _clip(text: str | None) -> str:
    if text is None:
        return ""
    return escape(text if len(text) <= CLIP else text[: CLIP - 1] + "…")


def _header(manifest: dict) -> str:
    recipe = manifest["recipe"]
    facts = [("seed", manifest["seed"]), ("tool", f"{manifest['tool']['name']} {manifest['tool']['version']}"),
             ("engine", manifest.get("engine", "local")), ("started", manifest.get("started_at")),
             ("seconds", manifest.get("seconds")), ("recipe xxh3_128", recipe.get("xxh3_128")),
             ("plan xxh3_128", manifest["plan"]["xxh3_128"]),
             ("settings", ", ".join(f"{k} {_setting(v)}" for k, v in manifest["settings"].items())),
             ("stage cache", cache_line(manifest, wrap=False).removeprefix("stage cache: "))]
    items = "".join(f"<dt>{escape(k)}</dt><dd>{escape(str(v))}</dd>" for k, v in facts if v is not None)
    description = recipe.get("description") or ""
    return (f"<header><h1>{escape(recipe['name'])}</h1><p class=\"mute\">{escape(description)}</p>"
            f"<dl class=\"facts\">{items}</dl></header>")


def _setting(value) -> str:
    if value is None or value == []:
        return "none"
    return ", ".join(value) if isinstance(value, list) else str(value)


def _overview(data: ReportData) -> str:
    manifest = data.manifest
    accounting = manifest["accounting"]
    written = sum(o["rows"] for o in manifest["outputs"] if "#" not in o["stage"])
    cards = [("records read", accounting["records_read"]), ("rejected at read", accounting["rejected_at_read"]),
             ("examples written", written), ("rejects", manifest["rejects"]["rows"])]
    html = "".join(f'<div class="card" data-card="{escape(k)}"><b>{v:,}</b><span>{escape(k)}</span></div>'
                   for k, v in cards)
    rows = [f"<tr><td><code>{escape(o['path'])}</code></td><td>{escape(o['stage'])}</td>{_td(o['rows'])}"
            f"{_td(o['bytes'])}<td class=\"mono\">{escape(o['xxh3_128'])}</td></tr>" for o in manifest["outputs"]]
    outputs = _table(["output", "stage", "rows", "bytes", "xxh3_128"], rows, "outputs", {2, 3})
    return f'<section id="overview"><h2>Overview</h2><div class="cards">{html}</div>{outputs}</section>'


def _sources(data: ReportData) -> str:
    paths = {i["stage"]: i["path"] for i in data.manifest["inputs"]}
    top = max((s.rows_in for s in data.sources), default=0)
    rows = [f"<tr data-stage=\"{escape(s.stage)}\"><td>{escape(s.stage.split(':', 1)[1])}</td>"
            f"<td><code>{escape(paths.get(s.stage, ''))}</code></td>{_td(s.rows_in, _bar(s.rows_in, top))}"
            f"{_td(s.rows_out, _drops(s.dropped))}</tr>" for s in data.sources]
    table = _table(["source", "file", "rows read", "rows kept"], rows, "sources-table", {2, 3})
    return f'<section id="sources"><h2>Sources</h2>{table}</section>'


# -- one mix -------------------------------------------------------------------------


def _mix(mix: MixReport, data: ReportData) -> str:
    parts = [f'<section id="{_anchor(mix)}"><h2>mix {escape(mix.name)} '
             f'<span class="mute">— {mix.size:,} examples</span></h2>',
             _funnel(mix), _shares(mix), _lengths(mix), _verbs(mix), _balance(mix), _kept(mix), "</section>"]
    return "".join(parts)


def _funnel(mix: MixReport) -> str:
    """Rows left after each step, per entry: a stacked chart and the table with drops."""
    names = ["read", "render / expand"] + [s.label for s in mix.chain] + ["drawn by the mix"]
    series = [(f.entry, [s.rows_out for s in f.steps]) for f in mix.funnels]
    chart = charts.stacked(names, series, f"rows left after each step of mix {mix.name}, per entry")
    head = ["step"] + [f"{f.entry} ({f.source})" for f in mix.funnels] + ["all entries"]
    rows = []
    for n, name in enumerate(names):
        steps = [f.steps[n] for f in mix.funnels]
        total = _total(steps, mix.chain[n - 2] if 2 <= n < 2 + len(mix.chain) else None)
        cells = "".join(_td(s.rows_out, _drops(s.dropped)).replace("<td ", f'<td data-stage="{escape(s.stage)}" ', 1)
                        for s in steps)
        rows.append(f"<tr><td>{escape(name)}</td>{cells}{_td(total.rows_out, _drops(total.dropped))}</tr>")
    first = [f.steps[0] for f in mix.funnels]
    into = "".join(_td(s.rows_in) for s in first)
    rows.insert(0, f"<tr><td class=\"mute\">rows in</td>{into}{_td(sum(s.rows_in for s in first))}</tr>")
    table = _table(head, rows, f"funnel-{mix.name}", set(range(1, len(head))), "funnel")
    return f'<h3>Funnel</h3>{chart}<div class="scroll">{table}</div>'  # many entries scroll, not the page


def _total(steps: list[Step], chain_stage: Step | None) -> Step:
    """A chain stage's totals are the manifest's; other rows add up the entries."""
    if chain_stage is not None:
        return chain_stage
    dropped: dict = {}
    for step in steps:
        for rule, count in step.dropped.items():
            dropped[rule] = dropped.get(rule, 0) + count
    return Step("", "", "", sum(s.rows_in for s in steps), sum(s.rows_out for s in steps), dropped)


def _shares(mix: MixReport) -> str:
    chart = charts.paired([(e.entry, e.declared, e.achieved) for e in mix.entries],
                          f"declared and achieved share of mix {mix.name}")
    rows = []
    for e in mix.entries:
        declared = "–" if e.declared is None else f"{e.declared:.1%}"
        short = f'<span class="drop">{e.short:,} short</span>' if e.short else ""
        rows.append(f"<tr data-entry=\"{escape(e.entry)}\"><td>{escape(e.entry)}</td><td>{escape(e.spec)}</td>"
                    f"<td class=\"num\">{declared}</td>{_td(e.available)}{_td(e.taken, short)}"
                    f"{_td(e.epochs)}{_td(e.written)}<td class=\"num\">{e.achieved:.1%}</td></tr>")
    head = ["entry", "declared", "declared share", "available", "target", "epochs", "written", "achieved share"]
    note = ('<p class="mute">Declared shares: shares as written, weights normalised after the temperature, '
            "row counts over the mix size, <code>% of source</code> of the rows the entry had after "
            'filtering. Written and achieved: counted in '
            f'<code>{escape(mix.output or "no output")}</code>.</p>')
    return f"<h3>Mix: declared vs achieved</h3>{chart}{_table(head, rows, f'mix-{mix.name}', set(range(2, 8)))}{note}"


def _lengths(mix: MixReport) -> str:
    """Per entry, instruction and output word counts side by side, on the same bins:
    those up to the longest text of the mix (at least up to 16 words)."""
    used = [n for item in mix.lengths for n, c in enumerate(item.instruction + item.output) if c]
    last = max([5] + [n % len(BINS) for n in used])
    labels = [bin_label(low, high) for low, high in BINS[: last + 1]]
    panels = []
    for item in mix.lengths:
        charts_ = []
        for field, counts, stats in (("instruction", item.instruction, item.instruction_words),
                                     ("output", item.output, item.output_words)):
            chart = charts.columns(labels, counts[: last + 1], f"{field} length in words, {item.entry}")
            summary = ("no rows written" if not stats["n"] else
                       f"median {stats['median']:g} · mean {stats['mean']:g} · {stats['min']}–{stats['max']}")
            charts_.append(f'<div><b class="mute">{field}</b>{chart}<div class="mute">{escape(summary)}</div></div>')
        panels.append(f'<div class="panel"><h4>{escape(item.entry)} <span class="mute">({escape(item.source)}), '
                      f"{item.instruction_words['n']:,} rows</span></h4>"
                      f"<div class=\"pair\">{''.join(charts_)}</div></div>")
    return f'<h3>Lengths (words)</h3><div class="grid">{"".join(panels)}</div>'


def _verbs(mix: MixReport) -> str:
    diversity = mix.diversity
    rows = [(v["verb"], v["share"], f"{v['count']:,} ({v['share']:.1%})") for v in diversity["top_verbs"]]
    chart = charts.hbars(rows, f"leading verbs of mix {mix.name}", label_width=140) if rows else ""
    targets = diversity.get("targets") or {}
    notes = []
    if targets.get("max_verb_share") is not None:
        notes.append(f"max verb share {targets['achieved_max_share']:.2f} (target ≤ {targets['max_verb_share']})")
    if targets.get("min_verb_diversity") is not None:
        notes.append(f"diversity target ≥ {targets['min_verb_diversity']}")
    score = (f'<p>verb diversity <b data-diversity="{diversity["score"]}">{diversity["score"]:.3f}</b> '
             f"(normalized entropy; {diversity['distinct_verbs']} distinct verbs)"
             + ("; " + "; ".join(escape(n) for n in notes) if notes else "") + "</p>")
    return f"<h3>Instruction verbs</h3>{score}{chart}"


def _balance(mix: MixReport) -> str:
    balance = (mix.diversity.get("targets") or {}).get("balance")
    if not balance:
        return ""
    counts = balance["counts"]
    total = sum(counts.values()) or 1
    rows = [(value, n / total, f"{n:,} ({n / total:.1%})") for value, n in counts.items()]
    limit = f"max share {balance['max_share']}" if balance.get("max_share") is not None else "equal shares"
    chart = charts.hbars(rows, f"category balance of mix {mix.name}", fill=charts.PALETTE[2])
    return (f"<h3>Category balance</h3><p>balanced on <code>{escape(balance['field'])}</code>, "
            f"{escape(limit)}</p>{chart}")


def _texts(record: dict | None) -> str:
    """An example's three texts as three cells."""
    if record is None:
        return '<td colspan="3" class="mute">(no text recorded)</td>'
    return "".join(f'<td class="text"><pre class="example">{_clip(record.get(f))}</pre></td>'
                   for f in ("instruction", "input", "output"))


def _kept(mix: MixReport) -> str:
    rows = [f"<tr><td class=\"mono\">{escape(k['id'])}<br><span class=\"mute\">{escape(k['entry'] or '')}</span>"
            f"</td>{_texts(k)}</tr>" for k in mix.kept]
    head = ["id / entry", "instruction", "input", "output"]
    return f"<h3>Written examples (seeded sample)</h3>{_table(head, rows, f'kept-{mix.name}')}"


# -- the whole run -------------------------------------------------------------------


def _human(manifest: dict) -> str:
    parts = ['<section id="human"><h2>Annotation agreement and cost</h2>']
    agreement = manifest.get("agreement") or []
    if agreement:
        rows = [f"<tr><td>{escape(a['stage'])}</td><td>{escape(a['method'])}</td>"
                f"{_td(a['value'], shown=_measure(a['value']))}"
                f"{_td(a['items'])}{_td(a['items_kept'])}</tr>" for a in agreement]
        parts.append(_table(["stage", "method", "agreement", "items", "items kept"], rows, "agreement", {2, 3, 4}))
    costs = manifest.get("costs") or []
    if costs:
        rows = [f"<tr><td>{escape(c['source'])}</td>{_td(c['usd_per_hour'])}{_td(c['minutes_per_example'])}"
                f"{_td(c['rows_read'])}{_td(c['rows_used'])}<td class=\"num\">${c['usd_read']:,.2f}</td>"
                f"<td class=\"num\">${c['usd_used']:,.2f}</td></tr>" for c in costs]
        parts.append(_table(["source", "USD / hour", "minutes / example", "rows read", "rows used", "cost of read",
                             "cost of used"], rows, "costs", {1, 2, 3, 4, 5, 6}))
    if not agreement and not costs:
        parts.append('<p class="mute">No source declares a cost and no filter measures agreement.</p>')
    return "".join(parts) + "</section>"


def _clusters(clusters: list[Cluster], labels: dict) -> str:
    parts = ['<section id="dedup"><h2>Duplicate clusters</h2>'
             '<p class="mute">A cluster is a kept example and the examples dropped as its duplicates '
             "(each near-duplicate reject names its kept example; exact duplicates share a key).</p>"]
    for cluster in clusters:
        parts.append(f'<h4>{escape(labels.get(cluster.stage, cluster.stage))} '
                     f'<span class="mute mono">{escape(cluster.stage)}</span></h4>')
        if not cluster.sizes:
            parts.append('<p class="mute">no duplicates</p>')
            continue
        rows = [(f"size {size}", count, f"{count:,} cluster{'s' if count != 1 else ''}")
                for size, count in cluster.sizes.items()]
        parts.append(charts.hbars(rows, f"cluster sizes at {cluster.stage}", fill=charts.PALETTE[5], label_width=90))
        parts.append(_largest(cluster))
    if not clusters:
        parts.append('<p class="mute">No dedup stage in this plan.</p>')
    return "".join(parts) + "</section>"


def _largest(cluster: Cluster) -> str:
    rows = []
    for kept, text, count, members in cluster.largest:
        listed = "<br>".join(_clip(t) for t in members if t)
        kept_cell = "" if cluster.kind == "exact" else f"<td>{_clip(text) or '<span class=mute>–</span>'}</td>"
        rows.append(f"<tr><td class=\"mono\">{escape(kept)}</td>{kept_cell}{_td(count)}<td>{listed}</td></tr>")
    if cluster.kind == "exact":
        return _table(["key", "duplicates", "instructions of some duplicates"], rows, numeric={1})
    return _table(["kept id", "kept instruction", "duplicates", "instructions of some duplicates"], rows, numeric={2})


def _rejects(data: ReportData) -> str:
    parts = ['<section id="rejects"><h2>Rejected rows (seeded sample per stage)</h2>']
    for stage, rejects in data.samples.items():
        label = data.stage_labels.get(stage, stage)
        rows = [_reject_row(r) for r in rejects]
        body = _table(["identity", "reason", "instruction", "input", "output"], rows)
        total = sum(data.stage_drops.get(stage, {}).values())
        parts.append(f"<details open><summary>{escape(label)} <span class=\"mute mono\">{escape(stage)}</span> — "
                     f"{len(rejects)} of {total:,}</summary>{body}</details>")
    if not data.samples:
        parts.append('<p class="mute">Nothing was rejected.</p>')
    return "".join(parts) + "</section>"


def _reject_row(reject: dict) -> str:
    example = reject.get("example")
    where = f"{reject.get('source')}/{reject.get('row')}" + (f" line {reject['line']}" if reject.get("line") else "")
    ident = example["id"] if example else reject["value"] if reject["rule"] == "unsampled" else where
    if example is not None:
        shown = _texts(example)
    elif reject["rule"] == "unsampled":
        shown = '<td colspan="3" class="mute">unsampled rows carry only their identity</td>'
    else:
        shown = f'<td colspan="3"><code>{_clip(str(reject.get("value", "")))}</code></td>'
    under = "" if ident == where else f'<br><span class="mute">{escape(where)}</span>'
    return (f"<tr><td class=\"mono\">{escape(str(ident))}{under}</td>"
            f"<td><b>{escape(reject['rule'])}</b>: {escape(reject['reason'])}</td>{shown}</tr>")


def _footer(manifest: dict) -> str:
    return (f"<footer>Written by recipekit {escape(manifest['tool']['version'])} from the run directory alone "
            "(manifest.json, plan.json, rejects.jsonl and the outputs). Trace any id with "
            "<code>recipekit why RUN_DIR ID</code>.</footer>")
