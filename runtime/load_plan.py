"""Load a plan.json: refuse unknown major versions, validate against the schema.

The runtime trusts nothing but the plan; a plan that fails its schema is
reported with the JSON path of every problem, never half-executed.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from pathlib import Path

from jsonschema import Draft202012Validator

from .errors import RunError

SUPPORTED_MAJOR = 1


@functools.lru_cache(maxsize=None)
def _validator() -> Draft202012Validator:
    text = resources.files("recipekit.specs").joinpath("plan.schema.json").read_text(encoding="utf-8")
    return Draft202012Validator(json.loads(text))


def check_plan(plan: object, where: str = "plan") -> dict:
    """The plan itself if it is one this runtime can execute; RunError otherwise."""
    if not isinstance(plan, dict):
        raise RunError(f"{where} is not a JSON object")
    version = str(plan.get("plan_version", ""))
    major = version.split(".", 1)[0]
    if major != str(SUPPORTED_MAJOR):
        raise RunError(f"{where} has plan_version {version or 'none'}; this runtime executes {SUPPORTED_MAJOR}.x",
                       hint="recompile the recipe with this recipekit")
    errors = sorted(_validator().iter_errors(plan), key=lambda e: list(e.absolute_path))
    if errors:
        lines = "; ".join(f"{e.json_path}: {e.message}" for e in errors[:5])
        raise RunError(f"{where} does not match the plan schema: {lines}",
                       hint="recompile the recipe; a plan is not meant to be edited by hand")
    return plan


def load_plan(path: Path) -> dict:
    try:
        plan = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise RunError(f"cannot read {path}: {err.strerror or err}") from None
    except (ValueError, UnicodeDecodeError) as err:
        raise RunError(f"{path} is not valid JSON: {err}") from None
    return check_plan(plan, str(path))
