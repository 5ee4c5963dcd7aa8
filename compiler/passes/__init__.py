"""Semantic passes, one per module, run in the order of PASSES.

Each pass has the signature `(recipe, context, sink) -> None`: it reads the
AST, reports problems to the sink and never raises on a user's mistake. All
passes run even after errors, so one `check` reports everything it can.
"""

from __future__ import annotations

from .check_filters import check_filters
from .check_mix_ratios import check_mix_ratios
from .check_paraphrase import check_paraphrase
from .check_templates import check_templates
from .check_thresholds import check_thresholds
from .find_unused import find_unused
from .order_filters import order_filters
from .resolve_names import resolve_names
from .resolve_paths import resolve_paths

PASSES = (
    resolve_names,
    find_unused,
    check_templates,
    check_paraphrase,
    check_thresholds,
    check_filters,
    check_mix_ratios,
    order_filters,
    resolve_paths,
)
