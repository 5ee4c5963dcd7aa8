"""How many examples each mix entry contributes: the mixture solver.

Pure arithmetic on the plan's `mix` params and the number of examples each
entry has available. The compiler calls it when source sizes are known (to
show the allocation and reject infeasible mixes early); the runtime calls it
again on the counts that survive filtering. Semantics, per entry kind:

- `share` (`50%`): that fraction of the mix size;
- `weight` (`3`): normalised, after raising each weight to 1/temperature;
- `count` (`1200 rows`): exactly that many;
- `fraction` (`40% of source`): that fraction of the entry's available rows.

Relative targets are rounded by largest remainder (Hamilton's method), so they
sum exactly to the size: never ceil-and-overshoot. Without a `size`, a
relative mix is as large as it can be without repeating any entry. A `cap`
bounds one entry's count (the mix may end smaller than `size`). When an entry
needs more rows than it has, `on_short` decides: `error` (infeasible),
`repeat` (upsample, at most `max_epochs` passes) or `shrink` (scale the whole
mix down until everything fits).
"""

from __future__ import annotations

import math
from typing import Mapping

import attrs


@attrs.frozen
class EntryAllocation:
    name: str
    available: int
    target: int

    @property
    def epochs(self) -> float:
        return self.target / self.available if self.available else math.inf


@attrs.frozen
class Allocation:
    entries: tuple[EntryAllocation, ...]
    size: int
    problem: str | None = None  # why the mix is infeasible, in words

    @property
    def feasible(self) -> bool:
        return self.problem is None


def largest_remainder(total: int, proportions: list[float]) -> list[int]:
    """Integers proportional to `proportions` that sum to `total`; ties go to the earlier entry."""
    scale = sum(proportions)
    quotas = [total * p / scale for p in proportions] if scale > 0 else [0.0] * len(proportions)
    counts = [math.floor(q) for q in quotas]
    order = sorted(range(len(quotas)), key=lambda i: (-(quotas[i] - counts[i]), i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def proportions(params: Mapping) -> list[float]:
    entries = params["entries"]
    if entries[0]["kind"] == "share":
        return [e["value"] / 100 for e in entries]
    power = 1.0 / (params.get("temperature") or 1.0)
    return [e["value"] ** power for e in entries]


def allocate(params: Mapping, available: Mapping[str, int]) -> Allocation:
    entries = params["entries"]
    sizes = [int(available.get(e["name"], 0)) for e in entries]
    if entries[0]["kind"] in ("count", "fraction"):
        targets = [_absolute(e, n) for e, n in zip(entries, sizes)]
    else:
        targets = _relative(params, sizes)
    targets = [min(t, e["cap"]) if e.get("cap") else t for e, t in zip(entries, targets)]
    allocation = _settle(params, entries, sizes, targets)
    return allocation


def _absolute(entry: Mapping, available: int) -> int:
    if entry["kind"] == "count":
        return int(entry["value"])
    return math.floor(available * entry["value"] / 100)


def _relative(params: Mapping, sizes: list[int]) -> list[int]:
    shares = proportions(params)
    size = params.get("size")
    if size is None:
        size = _largest_fitting_size(params["entries"], shares, sizes)
    return largest_remainder(int(size), shares)


def _largest_fitting_size(entries, shares: list[float], sizes: list[int]) -> int:
    """The biggest mix that repeats nothing (caps count as limits too)."""
    total = sum(shares)
    limits = []
    for entry, share, size in zip(entries, shares, sizes):
        limit = min(size, entry["cap"]) if entry.get("cap") else size
        limits.append(limit * total / share if share > 0 else math.inf)
    best = math.floor(min(limits)) if limits else 0
    # largest remainder may round one entry up past its limit: step down until it fits
    while best > 0 and any(t > s for t, s in zip(largest_remainder(best, shares), sizes)):
        best -= 1
    return best


def _settle(params: Mapping, entries, sizes: list[int], targets: list[int]) -> Allocation:
    result = tuple(EntryAllocation(e["name"], n, t) for e, n, t in zip(entries, sizes, targets))
    short = [a for a in result if a.target > a.available]
    policy = params.get("on_short", "error")
    if not short:
        return Allocation(result, sum(targets))
    if policy == "shrink" and entries[0]["kind"] in ("share", "weight"):
        shrunk = dict(params, size=None)
        return allocate(shrunk, {e["name"]: n for e, n in zip(entries, sizes)})
    if policy == "shrink":
        fitted = tuple(attrs.evolve(a, target=min(a.target, a.available)) for a in result)
        return Allocation(fitted, sum(a.target for a in fitted))
    max_epochs = params.get("max_epochs")
    over = [a for a in short if policy == "error" or a.available == 0
            or (max_epochs is not None and a.epochs > max_epochs)]
    if not over:
        return Allocation(result, sum(targets))
    return Allocation(result, sum(targets), _explain_short(over[0], policy, max_epochs))


def _explain_short(entry: EntryAllocation, policy: str, max_epochs) -> str:
    needs = f"`{entry.name}` needs {entry.target:,} rows but has {entry.available:,}"
    if entry.available == 0:
        return f"{needs}: nothing to repeat"
    epochs = f"{entry.epochs:.1f} epochs"
    if policy == "error":
        return f"{needs} ({epochs}); repeats are not allowed (`on_short = error`)"
    return f"{needs} ({epochs}), more than `max_epochs = {max_epochs}`"
