"""Walking a plan's DAG: the shape every lowered mix has.

A mix reads `union:<mix>` (its entries, in mix order) through its filter
stages, each stage's first input being the one before it (a second input, as
`decontaminate` has, is a side source). The engine, the manifest and the
compiler's size estimates all need that chain.
"""

from __future__ import annotations


def filter_chain(stages: dict[str, dict], mix: dict) -> tuple[dict, list[dict]]:
    """(the mix's union stage, its filter stages in run order)."""
    chain, stage = [], stages[mix["inputs"][0]]
    while stage["op"] != "union":
        chain.append(stage)
        stage = stages[stage["inputs"][0]]
    return stage, list(reversed(chain))
