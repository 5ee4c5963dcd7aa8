"""The `agreement` stage: sources where several people annotate each item.

Examples are grouped by item (the `item` option names the source field) and,
per item, the share of annotator pairs that gave the same `label` is its
agreement. An item at or above the threshold is resolved to its majority
label: the first example (in stream order) with that label is kept and the
other annotations are rejected as resolved into it; an item below the
threshold, or with a single annotation (no agreement to measure), is dropped
whole. The run reports the overall agreement by `method`: `percent` (mean per
item), `cohen` (Cohen's kappa, exactly two annotators) or `fleiss` (Fleiss'
kappa, generalized to items with different numbers of annotations).

This stage is a barrier: it holds the examples that reach it until the end of
the stream (annotation sets are small next to generated data).
"""

from __future__ import annotations

from collections import Counter, defaultdict

from .records import Reject, reject_for


def pair_agreement(labels: list) -> float:
    """Share of ordered annotator pairs that agree; needs at least two labels."""
    n = len(labels)
    return sum(c * (c - 1) for c in Counter(labels).values()) / (n * (n - 1))


def fleiss_kappa(items: list[list]) -> float | None:
    items = [labels for labels in items if len(labels) >= 2]
    if not items:
        return None
    observed = sum(pair_agreement(labels) for labels in items) / len(items)
    totals = Counter(label for labels in items for label in labels)
    count = sum(totals.values())
    expected = sum((c / count) ** 2 for c in totals.values())
    return 1.0 if expected == 1 else (observed - expected) / (1 - expected)


def cohen_kappa(items: list[dict]) -> float | None:
    """`items`: annotator -> label per item; only items labelled by both of exactly two annotators."""
    annotators = sorted({a for item in items for a in item}, key=str)
    if len(annotators) != 2:
        return None
    first, second = annotators
    pairs = [(item[first], item[second]) for item in items if first in item and second in item]
    if not pairs:
        return None
    observed = sum(a == b for a, b in pairs) / len(pairs)
    left, right = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    expected = sum(left[label] * right[label] for label in left) / len(pairs) ** 2
    return 1.0 if expected == 1 else (observed - expected) / (1 - expected)


class Agreement:
    def __init__(self, stage: dict) -> None:
        options = stage["params"]["options"]
        self.stage_id = stage["id"]
        self.threshold = stage["params"]["threshold"]
        self.method = options.get("method", "percent")
        self.item, self.annotator, self.label = options["item"], options["annotator"], options["label"]
        self.held: list[dict] = []
        self.report: dict = {}

    def __call__(self, batch: list[dict], rejects: list[Reject]) -> list[dict]:
        self.held.extend(batch)
        return []

    def finish(self, rejects: list[Reject]) -> list[dict]:
        groups: dict = defaultdict(list)
        for example in self.held:
            carried = example.get("_carry", {})
            groups[(example["_entry"], _text(carried.get(self.item)))].append(example)
        kept, per_item, by_annotator = [], [], []
        for (_, item), examples in groups.items():
            labels = [_text(e["_carry"].get(self.label)) for e in examples]
            by_annotator.append({_text(e["_carry"].get(self.annotator)): label for e, label in zip(examples, labels)})
            per_item.append(labels)
            kept.extend(self._resolve(item, examples, labels, rejects))
        self.report = self._overall(per_item, by_annotator, len(kept))
        self.held = []
        return kept

    def _resolve(self, item: str, examples: list[dict], labels: list[str], rejects: list[Reject]) -> list[dict]:
        if len(examples) < 2:
            rejects.append(reject_for(self.stage_id, examples[0], "agreement",
                                      f"item {item} has one annotation: no agreement to measure", 1))
            return []
        agreement = pair_agreement(labels)
        if agreement < self.threshold:
            for example in examples:
                rejects.append(reject_for(self.stage_id, example, "agreement",
                                          f"annotators of item {item} agree on {agreement:.0%} of pairs "
                                          f"(< {self.threshold})", round(agreement, 6)))
            return []
        counts = Counter(labels)
        majority = max(counts, key=lambda label: (counts[label], -labels.index(label)))
        winner = labels.index(majority)
        for number, example in enumerate(examples):
            if number != winner:
                rejects.append(reject_for(self.stage_id, example, "resolved",
                                          f"item {item} resolved to its majority label {majority!r}", labels[number]))
        return [examples[winner]]

    def _overall(self, per_item: list[list], by_annotator: list[dict], kept: int) -> dict:
        measured = [labels for labels in per_item if len(labels) >= 2]
        value = {
            "percent": (sum(map(pair_agreement, measured)) / len(measured)) if measured else None,
            "fleiss": fleiss_kappa(per_item),
            "cohen": cohen_kappa(by_annotator),
        }[self.method]
        return {"stage": self.stage_id, "method": self.method, "value": None if value is None else round(value, 6),
                "items": len(per_item), "items_kept": kept}


def _text(value) -> str:
    return value if isinstance(value, str) else repr(value)
