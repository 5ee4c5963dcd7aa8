"""Run a plan into a run directory, and verify a run directory later.

A run directory holds `plan.json` (the plan that ran), the outputs named in
the recipe, `rejects.jsonl` and `manifest.json`. `verify` re-hashes inputs
and outputs against the manifest; with `rerun` it executes the plan again in
a scratch directory and proves the outputs byte-identical.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from pathlib import Path

import attrs

from .atomic_file import write_text_atomically
from .engine import Engine, RunResult, RunSettings
from .errors import RunError
from .load_plan import check_plan
from .manifest import build_manifest, file_facts, manifest_errors


def plan_text(plan: dict) -> str:
    return json.dumps(plan, indent=2, ensure_ascii=False) + "\n"


ENGINES = ("local", "ray")


def run_plan(plan: dict, settings: RunSettings, engine: str = "local",
             address: str | None = None) -> tuple[dict, RunResult]:
    """Run `plan` into `settings.run_dir` on the local engine, or on Ray Data (`engine="ray"`,
    on the cluster at `address`, or a local one): the same bytes either way."""
    if engine not in ENGINES:
        raise RunError(f"unknown engine {engine!r}", hint=f"engines are {', '.join(ENGINES)}")
    check_plan(plan)
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    plan_file = write_text_atomically(settings.run_dir / "plan.json", plan_text(plan))
    started = dt.datetime.now().astimezone()
    if engine == "ray":
        from .ray_engine import RayEngine  # Ray itself is imported only by a run that asks for it

        result = RayEngine(plan, settings, address).run()
    else:
        result = Engine(plan, settings).run()
    manifest = build_manifest(plan, plan_file.xxh3_128, result, settings, started, engine)
    problems = manifest_errors(manifest)
    if problems:  # our own bug: say so plainly rather than write a bad proof
        raise RunError("the manifest does not match its schema: " + "; ".join(problems[:3]),
                       hint="this is a recipekit bug; please report it")
    write_text_atomically(settings.run_dir / "manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return manifest, result


@attrs.frozen
class Mismatch:
    what: str  # input | output | rejects | plan
    path: str
    expected: str
    found: str


def verify_run(run_dir: Path, rerun: bool = False, root: Path | None = None) -> list[Mismatch]:
    manifest = _load_manifest(run_dir)
    root = root or Path(manifest["root"])
    problems = [_compare("plan", run_dir / "plan.json", manifest["plan"])]
    problems += [_compare("input", root / i["path"], i) for i in manifest["inputs"]]
    problems += [_compare("output", run_dir / o["path"], o) for o in manifest["outputs"]]
    problems.append(_compare("rejects", run_dir / manifest["rejects"]["path"], manifest["rejects"]))
    problems = [p for p in problems if p is not None]
    if rerun and not problems:
        problems += _rerun(run_dir, manifest, root)
    return problems


def _load_manifest(run_dir: Path) -> dict:
    path = run_dir / "manifest.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError:
        raise RunError(f"{path} does not exist", hint="verify takes the directory a run wrote") from None
    except ValueError as err:
        raise RunError(f"{path} is not valid JSON: {err}") from None


def _compare(what: str, path: Path, recorded: dict) -> Mismatch | None:
    if not path.is_file():
        return Mismatch(what, str(path), recorded["xxh3_128"], "missing")
    found = file_facts(path)["xxh3_128"]
    return None if found == recorded["xxh3_128"] else Mismatch(what, str(path), recorded["xxh3_128"], found)


def _rerun(run_dir: Path, manifest: dict, root: Path) -> list[Mismatch]:
    plan = json.loads((run_dir / "plan.json").read_text(encoding="utf-8"))
    scratch = Path(tempfile.mkdtemp(prefix="recipekit-verify-"))
    try:
        settings = RunSettings(root=root, run_dir=scratch, batch_size=manifest["settings"]["batch_size"],
                               limit=manifest["settings"]["limit"],
                               allowed_scorers=tuple(manifest["settings"]["allowed_scorers"]))
        again, _ = run_plan(plan, settings)
        pairs = [("output", a, b) for a, b in zip(manifest["outputs"], again["outputs"])]
        pairs.append(("rejects", manifest["rejects"], again["rejects"]))
        return [Mismatch(what, a["path"], a["xxh3_128"], b["xxh3_128"])
                for what, a, b in pairs if a["xxh3_128"] != b["xxh3_128"]]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
