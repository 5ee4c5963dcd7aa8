"""The plan as JSON: assembled, serialised byte-for-byte stably, and checked
against specs/plan.schema.json before anyone sees it."""

from __future__ import annotations

import functools
import json
import os
from importlib import resources
from pathlib import Path

import xxhash
from jsonschema import Draft202012Validator

from ..dsl import ast
from ..dsl.diagnostics import DiagnosticSink
from . import __version__
from .lower_to_plan import DEFAULT_SEED, PLAN_VERSION, Lowering


def build_plan(recipe: ast.Recipe, recipe_bytes: bytes, root: str = ".") -> dict:
    meta = recipe.meta
    return {
        "plan_version": PLAN_VERSION,
        "tool": {"name": "recipekit", "version": __version__},
        "recipe": {
            "name": meta.name.value if meta else "recipe",
            "description": meta.description.value if meta and meta.description else None,
            "version": meta.version.value if meta and meta.version else None,
            "xxh3_128": xxhash.xxh3_128_hexdigest(recipe_bytes),
        },
        "seed": meta.seed.value if meta and meta.seed is not None else DEFAULT_SEED,
        "root": root,
        "stages": Lowering(recipe).run(),
    }


def dumps(plan: dict) -> str:
    """Stable text: key order as built, two-space indent, UTF-8, one final newline."""
    return json.dumps(plan, indent=2, ensure_ascii=False) + "\n"


@functools.lru_cache(maxsize=None)
def plan_validator() -> Draft202012Validator:
    text = resources.files("recipekit.specs").joinpath("plan.schema.json").read_text(encoding="utf-8")
    return Draft202012Validator(json.loads(text))


def validate_plan(plan: dict, sink: DiagnosticSink) -> bool:
    """Schema errors in a plan the compiler made are its own bugs (B901)."""
    errors = sorted(plan_validator().iter_errors(plan), key=lambda e: list(e.absolute_path))
    for error in errors[:10]:
        sink.report("B901", None, f"the compiler produced an invalid plan: {error.json_path}: {error.message}",
                    hint="this is a recipekit bug; please report it with the recipe")
    return not errors


def root_for(recipe_path: Path, plan_path: Path | None) -> str:
    """The recipe's folder relative to where the plan is written (POSIX separators)."""
    if plan_path is None:
        return "."
    relative = os.path.relpath(recipe_path.resolve().parent, plan_path.resolve().parent)
    return Path(relative).as_posix()
