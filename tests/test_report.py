"""`recipekit report`: the HTML report of a run directory, and the terminal summary.

The report's numbers are checked against the manifest (per-entry splits must add
up to the manifest's per-stage totals), and the report is opened in a real
headless Chromium (Debian's `chromium`, driven by playwright): no console errors,
no request leaves the file, the charts and tables are in the DOM, user text is
escaped. A screenshot of each report is saved next to it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from rich.console import Console

import run_recipes
from recipekit.compiler.cli import main
from recipekit.runtime.progress import summary
from recipekit.runtime.report_data import build
from recipekit.runtime.report_html import write_report
from recipekit.runtime.run_files import RunFiles

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.recipe"))
CORPORA_RECIPE = ROOT / "tests" / "corpora" / "sst2_seeds_alpaca.recipe"
CORPORA = ROOT.parent / "shared" / "corpora"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

def run_recipe(recipe: Path, run_dir: Path) -> Path:
    run_recipes.run_recipe(recipe, run_dir)
    write_report(run_dir)
    return run_dir


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("report-runs")
    found = {recipe.stem: run_recipe(recipe, base / recipe.stem) for recipe in EXAMPLES}
    found["votes"] = run_recipe(run_recipes.write_votes(base / "votes-src"), base / "votes")
    found["edge"] = run_recipe(run_recipes.write_edge(base / "edge-src"), base / "edge")
    return found


@pytest.fixture(scope="module")
def corpora_run(tmp_path_factory) -> Path:
    if not CORPORA.is_dir():
        pytest.skip("needs ../shared/corpora")
    return run_recipe(CORPORA_RECIPE, tmp_path_factory.mktemp("report-corpora") / "run")


RUN_NAMES = [p.stem for p in EXAMPLES] + ["votes", "edge"]


# -- the numbers --------------------------------------------------------------------------


def assert_report_matches_manifest(run_dir: Path) -> None:
    run = RunFiles(run_dir)
    data = build(run)
    manifest = run.manifest
    stats = {s["id"]: s for s in manifest["stages"]}
    assert [(s.stage, s.rows_in, s.rows_out, s.dropped) for s in data.sources] == [
        (s["id"], s["rows_in"], s["rows_out"], s["dropped"]) for s in manifest["stages"] if s["op"] == "read"]
    for mix, recorded in zip(data.mixes, manifest["mixes"]):
        assert mix.id == recorded["stage"] and mix.size == recorded["size"]
        # per-entry drops at each filter stage add up to the manifest's total for the stage
        for n, chain_step in enumerate(mix.chain):
            per_entry = [f.steps[2 + n] for f in mix.funnels]
            summed: dict = {}
            for step in per_entry:
                assert step.stage == chain_step.stage and step.rows_in - step.rows_out == sum(step.dropped.values())
                for rule, count in step.dropped.items():
                    summed[rule] = summed.get(rule, 0) + count
            assert summed == stats[chain_step.stage]["dropped"]
            assert sum(s.rows_out for s in per_entry) == stats[chain_step.stage]["rows_out"]
        allocations = {e["name"]: e for e in recorded["entries"]}
        for funnel in mix.funnels:
            draw = funnel.steps[-1]
            assert draw.rows_in == allocations[funnel.entry]["available"]
        unsampled = sum(f.steps[-1].dropped.get("unsampled", 0) for f in mix.funnels)
        assert unsampled == stats[mix.id]["dropped"].get("unsampled", 0)
        primary = next(o for o in manifest["outputs"] if o["path"] == mix.output)
        assert sum(e.written for e in mix.entries) == primary["rows"]
        for entry in mix.entries:
            assert (entry.available, entry.taken) == (allocations[entry.entry]["available"],
                                                      allocations[entry.entry]["taken"])
            assert entry.written == entry.taken - entry.short  # attributed to the right entry
        for lengths, entry in zip(mix.lengths, mix.entries):
            assert sum(lengths.instruction) == sum(lengths.output) == lengths.instruction_words["n"] == entry.written
        assert mix.diversity == recorded["diversity"]
    for cluster in data.clusters:
        duplicates = sum((size - 1) * count for size, count in cluster.sizes.items())
        rule = "near-duplicate" if cluster.kind == "near" else "duplicate"
        assert duplicates == stats[cluster.stage]["dropped"].get(rule, 0)
    for stage, rejects in data.samples.items():
        assert len(rejects) == min(3, sum(stats[stage]["dropped"].values()))
        assert all(r["stage"] == stage for r in rejects)


@pytest.mark.parametrize("name", RUN_NAMES)
def test_the_report_numbers_are_the_manifests(runs, name: str) -> None:
    assert_report_matches_manifest(runs[name])


def test_human_sources_show_agreement_cost_and_balance(runs) -> None:
    data = build(RunFiles(runs["votes"]))
    assert data.manifest["agreement"] and data.manifest["costs"]
    html = (runs["votes"] / "report.html").read_text()
    assert 'id="agreement"' in html and 'id="costs"' in html and "Category balance" in html
    assert "<script" not in html and "<img" not in html and "&lt;img src=x" in html  # user text is escaped


def test_the_report_is_deterministic(runs) -> None:
    first = (runs["mixture"] / "report.html").read_bytes()
    assert write_report(runs["mixture"]).read_bytes() == first


# -- in a real browser -------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (the `test` extra)")
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"needs Debian's chromium at {CHROMIUM} (apt-get install -y chromium)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


def open_report(browser, run_dir: Path):
    """The report in a fresh page; the console messages, page errors and requests it caused."""
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning")
            else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("request", lambda r: problems.append(f"request {r.url}") if not r.url.startswith("file:") else None)
    page.goto((run_dir / "report.html").as_uri())
    page.wait_for_load_state("load")
    return page, problems


def check_in_browser(browser, run_dir: Path) -> None:
    manifest = json.loads((run_dir / "manifest.json").read_text())
    page, problems = open_report(browser, run_dir)
    try:
        page.screenshot(path=str(run_dir / "report.png"), full_page=True)
        assert problems == []
        assert page.locator("script").count() == 0
        # every chart is an SVG that the browser laid out with a size
        sizes = page.evaluate("[...document.querySelectorAll('svg.chart')].map(s => s.getBoundingClientRect())"
                              ".map(r => [r.width, r.height])")
        entries = sum(len(m["entries"]) for m in manifest["mixes"])
        assert len(sizes) >= len(manifest["mixes"]) * 2 + entries * 2  # funnel, shares, 2 histograms each
        assert all(width > 0 and height > 0 for width, height in sizes)
        assert page.locator("svg.chart rect").count() > len(sizes)
        # the tables hold the manifest's numbers
        outputs = page.locator("#outputs tbody tr")
        assert outputs.count() == len(manifest["outputs"])
        written = sum(o["rows"] for o in manifest["outputs"] if "#" not in o["stage"])
        assert page.locator('[data-card="examples written"] b').inner_text().replace(",", "") == str(written)
        for mix in manifest["mixes"]:
            name = mix["stage"].split(":", 1)[1]
            last = page.locator(f'[id="funnel-{name}"] tbody tr').last.locator("td").last
            assert last.get_attribute("data-value") == str(mix["size"]) or mix["diversity"]["targets"]
            for entry in mix["entries"]:
                row = page.locator(f'[id="mix-{name}"] tr[data-entry="{entry["name"]}"]')
                assert row.locator("td").nth(3).get_attribute("data-value") == str(entry["available"])
        assert page.evaluate("document.documentElement.scrollWidth") <= 1200  # nothing overflows sideways
    finally:
        page.close()


@pytest.mark.parametrize("name", RUN_NAMES)
def test_the_report_renders_in_chromium(browser, runs, name: str) -> None:
    check_in_browser(browser, runs[name])
    assert (runs[name] / "report.png").stat().st_size > 10_000


def test_hostile_text_stays_text_in_the_browser(browser, runs) -> None:
    page, problems = open_report(browser, runs["votes"])
    try:
        assert problems == [] and page.locator("img").count() == 0 and page.locator("main b:text('bad')").count() == 0
        assert "<img src=x onerror=alert(1)> great sound" in page.locator("body").inner_text()
    finally:
        page.close()


@pytest.mark.corpora
def test_the_corpora_report(browser, corpora_run: Path) -> None:
    assert_report_matches_manifest(corpora_run)
    check_in_browser(browser, corpora_run)


# -- the command line and the terminal summary ---------------------------------------------


def test_report_command_and_run_report_flag(tmp_path: Path, capsys) -> None:
    recipe = ROOT / "examples" / "sentiment_templates.recipe"
    assert main(["run", str(recipe), "--out", str(tmp_path / "a"), "--quiet", "--report"]) == 0
    assert (tmp_path / "a" / "report.html").is_file()
    (tmp_path / "a" / "report.html").unlink()
    assert main(["report", str(tmp_path / "a")]) == 0
    assert (tmp_path / "a" / "report.html").is_file()
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "manifest.json does not exist" in capsys.readouterr().err
    # the header says what the stage cache gave: a second run reuses every stage up to the mix
    assert main(["run", str(recipe), "--out", str(tmp_path / "b"), "--quiet", "--report"]) == 0
    header = (tmp_path / "b" / "report.html").read_text().split("</header>")[0]
    assert "<dt>stage cache</dt><dd>7 of 9 stages reused: read:reviews," in header
    assert "; computed: mix:train, write:train</dd>" in header
    assert main(["run", str(recipe), "--out", str(tmp_path / "c"), "--quiet", "--report", "--no-cache"]) == 0
    assert "<dt>stage cache</dt><dd>off (--no-cache)</dd>" in (tmp_path / "c" / "report.html").read_text()


@pytest.mark.parametrize("name", RUN_NAMES)
def test_the_summary_fits_80_columns(runs, name: str) -> None:
    manifest = json.loads((runs[name] / "manifest.json").read_text())
    plan = json.loads((runs[name] / "plan.json").read_text())
    console = Console(width=80, record=True, color_system=None)
    console.print(summary(manifest, plan))
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "sources" in text and "funnel" in text and "examples written" in text
    for mix in manifest["mixes"]:
        assert f"{mix['size']:,}" in text and "drawn by the mix" in text
    without_plan = Console(width=80, record=True, color_system=None)
    without_plan.print(summary(manifest))  # an older caller: stage ids instead of labels
    assert "examples written" in without_plan.export_text()
