"""How fast is the front end on a large recipe?

Generates a realistic recipe of about 10,000 lines (sources with schemas and
verbalizers, templates with several phrasings, filters, paraphrase blocks,
expansions, mixes and outputs), then measures in one process:

- grammar build: the first `recipekit.dsl.parser.parser()` call (Lark reads
  recipe.lark and builds the LALR tables), and the median of rebuilding it;
- parse only: `recipekit.dsl.parser.parse(text)`, text to Lark tree;
- front end: `recipekit.dsl.load.load_text(text)`, text to typed AST with
  diagnostics (parse + CST reading + AST building);
- for context, when the compiler is installed: the front end plus every
  semantic pass (`recipekit.compiler.check.check_file`, on the recipe written
  to a temporary folder next to empty data files), and a whole
  `python -m recipekit.compiler check FILE` process.

Each of these is the median of --repeat runs. Usage:

    .venv/bin/python bench/parse_bench.py [--lines 10000] [--repeat 5]
        [--write big.recipe] [--profile]

--profile runs the front end once more under cProfile and prints the
functions with the most cumulative and internal time.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import platform
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Every source has the fields the templates and expansions read; the rest vary.
_COMMON = (("instruction", "str"), ("context", "str?"), ("output", "str"), ("label", "int"))
_EXTRA = (
    ("category", "str"), ("question", "str?"), ("answer", "str = answers[0].text"),
    ("tags", "list[str]"), ("score", "float?"), ("annotator", "str?"),
)


def source_block(i: int) -> list[str]:
    fields = list(_COMMON) + [_EXTRA[(i + k) % len(_EXTRA)] for k in range(2)]
    lines = [
        f"# Source {i}: one shard of labelled and human-written rows.",
        f"source src_{i} {{",
        f'  from = "data/shard_{i:05d}.jsonl"',
        "  format = jsonl",
        f"  kind = {('dataset', 'human', 'seed')[i % 3]}",
        "  schema {",
        *(f"    {name}: {typ}" for name, typ in fields),
        "  }",
        "  labels label {",
        '    0 = "negative"',
        '    1 = "positive"  # the verbalizer for label 1',
        "  }",
    ]
    if i % 3 == 1:
        lines += ["  cost {", "    usd_per_hour = 30", "    minutes_per_example = 10", "  }"]
    return lines + ["}"]


def template_block(i: int) -> list[str]:
    return [
        f"template tpl_{i} on src_{i} {{",
        "  instruction = [",
        f'    "Classify the sentiment of review number {i} as positive or negative.",',
        '    "What is the tone of this text? Answer \\"positive\\" or \\"negative\\".",',
        '    "Read the text below and label it.",',
        "  ]",
        '  input = "{instruction}\\n\\n{context?}"',
        '  output = ["{label}", "The answer is {label}."]',
        "  choose = random",
        "  fewshot {",
        "    count = 2",
        '    separator = "\\n\\n"',
        "  }",
        "}",
    ]


def paraphrase_block(i: int) -> list[str]:  # one per group
    return [
        f"paraphrase verbs_{i} {{",
        '  "Write" <-> "Compose" <-> "Create"',
        '  "Give" <-> "Provide"',
        '  "List" <-> "Enumerate"',
        '  "Classify" -> "Categorize"',
        "}",
    ]


def expand_block(i: int, group: int) -> list[str]:
    return [
        f"expand exp_{i} from src_{i} {{",
        f"  paraphrase = verbs_{group}",
        "  variants = 4",
        "}",
    ]


def filter_block(i: int) -> list[str]:
    return [
        f"filter clean_{i} {{",
        "  ordered = true",
        "  length instruction words 3..256",
        "  length output chars 1..8000",
        "  require (instruction, output)",
        '  drop output matches r"(?i)as an ai language model"',
        "  dedup exact on (instruction, input, output) normalize (lower, whitespace)",
        "  dedup near on instruction jaccard >= 0.85 {",
        "    num_perm = 128",
        "    ngram = 3",
        "  }",
        "  score heuristic >= 0.4",
        "}",
    ]


def mix_block(i: int, members: list[int]) -> list[str]:
    """Groups rotate through the three ways of stating amounts."""
    style = i % 3
    lines = [f"mix mix_{i} {{"]
    if style != 2:
        lines.append("  size = 10000")
    lines += [f"  filter = clean_{i}", "  temperature = 2", "  on_short = repeat", "  max_epochs = 3"]
    for k, m in enumerate(members):
        if style == 0:  # weights, some capped
            amounts = ("3 cap 2000", "1") if k % 2 == 0 else ("2", "1 cap 500")
        elif style == 1:  # shares that sum to 100%
            amounts = ("15%", "10%") if k % 2 == 0 else ("12.5%", "12.5%")
        else:  # counts and fractions of a source
            amounts = ("1200 rows", "40% of source")
        lines.append(f"  tpl_{m} = {amounts[0]}")
        lines.append(f"  exp_{m} = {amounts[1]}")
    return lines + ["}"]


def output_block(i: int) -> list[str]:
    return [
        f"output mix_{i} {{",
        f'  to = "out/mix_{i}.jsonl"',
        f"  format = {('alpaca', 'messages')[i % 2]}",
        "  provenance = [source, row, template, phrasing, hash]",
        "}",
    ]


def generate(target_lines: int) -> str:
    """A valid recipe of about `target_lines` lines, in canonical layout."""
    blocks = [[
        "# A large generated recipe for benchmarking the front end.",
        "recipe bench {",
        "  seed = 42",
        '  description = "Generated by bench/parse_bench.py"',
        '  version = "1"',
        "}",
    ]]
    count = sum(len(b) + 1 for b in blocks)
    group = 0
    while count < target_lines:
        members = [group * 4 + k for k in range(4)]
        new = [paraphrase_block(group)]
        for m in members:
            new += [source_block(m), template_block(m), expand_block(m, group)]
        new += [filter_block(group), mix_block(group, members), output_block(group)]
        blocks += new
        count += sum(len(b) + 1 for b in new)
        group += 1
    return "\n\n".join("\n".join(b) for b in blocks) + "\n"


def median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure_check(text: str, repeat: int) -> tuple[float | None, float | None, float | None]:
    """Front end + semantic passes, compile (+ lowering, schema check and mix
    sizes), and a whole `check` CLI process."""
    try:
        from recipekit.compiler.check import check_file
        from recipekit.compiler.compile import compile_file
    except ImportError:
        return None, None, None
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "data").mkdir()
        for i in range(text.count("source src_")):
            (folder / "data" / f"shard_{i:05d}.jsonl").touch()
        path = folder / "bench.recipe"
        path.write_text(text, encoding="utf-8")
        if check_file(path).has_errors:
            print("the generated recipe has semantic errors", file=sys.stderr)
        in_process = median_time(lambda: check_file(path), repeat)
        if compile_file(path).plan is None:
            print("the generated recipe does not compile", file=sys.stderr)
        compiled = median_time(lambda: compile_file(path), repeat)
        command = [sys.executable, "-m", "recipekit.compiler", "check", str(path)]
        whole = median_time(lambda: subprocess.run(command, capture_output=True), repeat)
    return in_process, compiled, whole


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--write", metavar="PATH", help="also save the generated recipe here")
    ap.add_argument("--profile", action="store_true", help="profile one front-end run with cProfile")
    args = ap.parse_args(argv)

    text = generate(args.lines)
    if args.write:
        with open(args.write, "w", encoding="utf-8") as f:
            f.write(text)

    start = time.perf_counter()
    import lark  # noqa: F401  (imported first so that the build time below is the build only)
    from recipekit.dsl import load, parser
    import_s = time.perf_counter() - start

    start = time.perf_counter()
    parser.parser()
    build_first_s = time.perf_counter() - start

    def rebuild():
        parser._lark.cache_clear()
        parser.parser()

    build_median_s = median_time(rebuild, args.repeat)

    result = load.load_text(text, "bench.recipe")
    if not result.ok:
        for diag in result.diagnostics[:10]:
            print(diag, file=sys.stderr)
        print("the generated recipe does not load cleanly", file=sys.stderr)
        return 1

    parse_s = median_time(lambda: parser.parse(text), args.repeat)
    front_s = median_time(lambda: load.load_text(text, "bench.recipe"), args.repeat)
    check_s, compile_s, process_s = measure_check(text, args.repeat)

    lines = text.count("\n")
    blocks = len(result.recipe.decls) + (result.recipe.meta is not None)
    print(f"recipe: {lines} lines, {len(text):,} characters, {blocks} blocks")
    print(f"python {platform.python_version()}, lark {lark.__version__}, "
          f"{os.cpu_count()} CPUs, median of {args.repeat}")
    print()
    rows = [
        ("import lark + recipekit.dsl", import_s, "once"),
        ("grammar build, first parser() call", build_first_s, "once"),
        ("grammar build, rebuilt", build_median_s, "median"),
        ("parse only: parser.parse(text)", parse_s, "median"),
        ("front end: load.load_text(text)", front_s, "median"),
    ]
    if check_s is not None:
        rows.append(("front end + semantic passes", check_s, "median"))
        rows.append(("compile: + lowering, plan schema, mix", compile_s, "median"))
        rows.append(("whole `recipekit check` process", process_s, "median"))
    print(f"| {'step':<36} | {'seconds':>8} | {'':<6} |")
    print(f"|{'-' * 38}|{'-' * 10}|{'-' * 8}|")
    for name, seconds, how in rows:
        print(f"| {name:<36} | {seconds:>8.3f} | {how:<6} |")
    print()
    print(f"front end / parse only: {front_s / parse_s:.2f}x")
    print(f"front end per 1,000 lines: {front_s / lines * 1000 * 1000:.1f} ms")

    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        load.load_text(text, "bench.recipe")
        profile.disable()
        for key in ("cumulative", "tottime"):
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats(key).print_stats(18)
            print(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
