"""Small inline SVG charts for the run report, written as text: no library, no
script, nothing fetched. Every label goes through `html.escape`, every
attribute is quoted, and each mark has a `<title>` (the exact number on hover).

Bars are drawn against a linear scale from 0; a chart sizes itself to its
rows and scales to its container through its viewBox.
"""

from __future__ import annotations

from html import escape

# Okabe–Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#999999", "#F0E442"]
FONT = 12
CHAR = 6.6  # average glyph width at FONT px, for fitting labels
ROW = 22


def colour(n: int) -> str:
    return PALETTE[n % len(PALETTE)]


def fit(text: str, width: float) -> str:
    """`text` cut to about `width` pixels, with an ellipsis."""
    room = max(3, int(width / CHAR))
    return text if len(text) <= room else text[: room - 1] + "…"


def _svg(width: float, height: float, body: list[str], label: str) -> str:
    return (f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(label)}" '
            f'width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}">'
            f'<title>{escape(label)}</title>' + "".join(body) + "</svg>")


def _text(x: float, y: float, text: str, anchor: str = "start", css: str = "") -> str:
    klass = f' class="{css}"' if css else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{klass}>{escape(text)}</text>'


def _rect(x: float, y: float, w: float, h: float, fill: str, title: str) -> str:
    return (f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{h:.1f}" fill="{fill}">'
            f'<title>{escape(title)}</title></rect>')


def hbars(rows: list[tuple[str, float, str]], label: str, width: int = 640, fill: str = PALETTE[0],
          label_width: int = 200) -> str:
    """One horizontal bar per (label, value, value text)."""
    top = max((v for _, v, _ in rows), default=0) or 1
    area = width - label_width - 90
    body = []
    for n, (name, value, shown) in enumerate(rows):
        y = n * ROW + 4
        body.append(_text(label_width - 6, y + 13, fit(name, label_width - 8), "end"))
        body.append(_rect(label_width, y, area * value / top, ROW - 8, fill, f"{name}: {shown}"))
        body.append(_text(label_width + area * value / top + 4, y + 13, shown, css="num"))
    return _svg(width, len(rows) * ROW + 8, body, label)


def stacked(stages: list[str], series: list[tuple[str, list[int]]], label: str, width: int = 720,
            label_width: int = 230) -> str:
    """Per stage, one bar stacked by series (the rows each entry has left there), and a legend."""
    totals = [sum(values[n] for _, values in series) for n in range(len(stages))]
    top = max(totals, default=0) or 1
    area = width - label_width - 70
    body = []
    for n, stage in enumerate(stages):
        y = n * ROW + 4
        body.append(_text(label_width - 6, y + 13, fit(stage, label_width - 8), "end"))
        x = float(label_width)
        for k, (name, values) in enumerate(series):
            w = area * values[n] / top
            body.append(_rect(x, y, w, ROW - 8, colour(k), f"{stage} — {name}: {values[n]:,}"))
            x += w
        body.append(_text(x + 4, y + 13, f"{totals[n]:,}", css="num"))
    legend_y = len(stages) * ROW + 12
    x = float(label_width)
    for k, (name, _) in enumerate(series):
        body.append(_rect(x, legend_y, 10, 10, colour(k), name))
        body.append(_text(x + 14, legend_y + 9, fit(name, 150)))
        x += 24 + min(len(name), 22) * CHAR
        if x > width - 100:
            x, legend_y = float(label_width), legend_y + 16
    return _svg(width, legend_y + 18, body, label)


def paired(rows: list[tuple[str, float | None, float]], label: str, width: int = 640,
           label_width: int = 180) -> str:
    """Declared against achieved share per entry: a pale bar over a solid one (0..100%)."""
    top = max([1e-9] + [max(d or 0, a) for _, d, a in rows])
    area = width - label_width - 110
    body = []
    for n, (name, declared, achieved) in enumerate(rows):
        y = n * (ROW + 8) + 4
        body.append(_text(label_width - 6, y + 16, fit(name, label_width - 8), "end"))
        if declared is not None:
            body.append(_rect(label_width, y, area * declared / top, 10, "#c9d6e3", f"{name} declared {declared:.1%}"))
        body.append(_rect(label_width, y + 11, area * achieved / top, 10, colour(n), f"{name} achieved {achieved:.1%}"))
        shown = ("–" if declared is None else f"{declared:.1%}") + f" → {achieved:.1%}"
        body.append(_text(label_width + area * max(declared or 0, achieved) / top + 4, y + 16, shown, css="num"))
    return _svg(width, len(rows) * (ROW + 8) + 8, body, label)


def columns(labels: list[str], counts: list[int], label: str, width: int = 250, height: int = 130,
            fill: str = PALETTE[0]) -> str:
    """A histogram: one column per bin, bin labels under it (slanted, and every other one,
    when they would overlap), the count on hover."""
    top = max(counts, default=0) or 1
    step = (width - 10) / max(len(counts), 1)
    longest = max((len(n) for n in labels), default=0) * 5.8  # tick glyphs are ~5.8 px
    slant = longest + 4 > step
    every = 2 if slant and longest * 0.82 > 2 * step - 2 else 1  # cos 35° of the slanted label
    base = height - (longest * 0.57 + 16 if slant else 20)  # the axis; sin 35° of the label below it
    chart = base - 18  # 18 px on top for the "max" note
    body = [f'<line x1="5" y1="{base:.1f}" x2="{width - 5}" y2="{base:.1f}" class="axis"/>']
    for n, (name, count) in enumerate(zip(labels, counts)):
        x = 5 + n * step
        h = chart * count / top
        body.append(_rect(x + 1, base - h, step - 2, h, fill, f"{name} words: {count:,}"))
        if n % every:
            continue
        middle = x + step / 2
        turn = f' transform="rotate(-35 {middle:.1f} {base + 12:.1f})"' if slant else ""
        anchor = "end" if slant else "middle"
        body.append(f'<text x="{middle:.1f}" y="{base + 12:.1f}" text-anchor="{anchor}" class="tick"{turn}>'
                    f"{escape(name)}</text>")
    body.append(_text(width - 5, 12, f"max {top:,}", "end", "tick"))
    return _svg(width, height, body, label)
