"""The numbers of a run's report, from its run directory only (runtime/run_files.py).

The manifest has each stage's totals; the report splits them by mix entry:
a filter stage's drops are counted from rejects.jsonl (each reject after
rendering names its entry), the rows an entry kept from the manifest's mix
table, the lengths and the per-entry written counts from the outputs (an
output row's provenance says its template, or its id is traced back by
runtime/identity.py). Samples are seeded: the rows whose ids have the
smallest keyed hashes, so the same run gives the same report.
"""

from __future__ import annotations

import bisect
import heapq
from collections import Counter, defaultdict
import attrs
from xxhash import xxh3_64_intdigest

from .example_text import texts_of
from .identity import EntryKeys, at_row, search
from .keyed import stage_seed
from .run_files import MixView, RunFiles
from .stage_labels import declared_shares, entry_spec, stage_label

SAMPLES = 3  # rejects shown per stage
KEPT_SAMPLES = 5  # written examples shown per mix
CLUSTERS_SHOWN = 5
# Word-count bins: [low, high) — roughly doubling, so short and long texts both show.
BINS = [(0, 1), (1, 2), (2, 3), (3, 5), (5, 9), (9, 17), (17, 33), (33, 65), (65, 129), (129, 257),
        (257, 513), (513, 1025), (1025, None)]


def bin_label(low: int, high: int | None) -> str:
    if high is None:
        return f"{low}+"
    return str(low) if high == low + 1 else f"{low}–{high - 1}"


@attrs.define
class Step:
    stage: str
    op: str
    label: str
    rows_in: int
    rows_out: int
    dropped: dict  # reason -> count


@attrs.define
class EntryFunnel:
    entry: str
    source: str
    steps: list  # Step, from the read to the mix's draw


@attrs.define
class MixEntry:
    entry: str
    source: str
    spec: str  # as declared: `30%`, `weight 3 cap 30`
    declared: float | None  # declared share of the mix
    available: int
    taken: int  # the solved target
    short: int  # left short by a verb or balance cap
    epochs: float | None
    written: int  # counted in the mix's first output
    achieved: float  # share of the mix actually written


@attrs.define
class Lengths:
    entry: str
    source: str
    instruction: list  # counts per BINS
    output: list
    instruction_words: dict  # min, median, mean, max
    output_words: dict


@attrs.define
class Cluster:
    stage: str
    kind: str  # near or exact
    sizes: dict  # cluster size (kept + duplicates) -> number of clusters
    largest: list  # (kept id, kept text or None, duplicates, [member texts])


@attrs.define
class MixReport:
    id: str
    name: str
    size: int
    output: str | None  # the output the lengths and samples come from
    funnels: list  # EntryFunnel
    chain: list  # Step: the chain's totals, as the manifest has them
    entries: list  # MixEntry
    lengths: list  # Lengths
    diversity: dict  # from the manifest
    kept: list  # sample of written examples (texts + id + entry)


@attrs.define
class ReportData:
    manifest: dict
    sources: list  # Step per read stage
    mixes: list  # MixReport
    clusters: list  # Cluster
    samples: dict  # stage id -> [reject]
    stage_labels: dict  # stage id -> label
    stage_drops: dict  # stage id -> reason -> count (the manifest's)


def build(run: RunFiles) -> ReportData:
    tallies = _Tallies(run)
    for line, reject in run.rejects():
        tallies.add(reject)
    wanted = tallies.kept_ids()  # near-duplicate clusters show their kept example's text
    mixes = [_mix_report(run, mix, tallies, wanted) for mix in run.mixes]
    sources = [_stat_step(run, s) for s in run.plan["stages"] if s["op"] == "read"]
    labels = {s["id"]: stage_label(s) for s in run.plan["stages"]}
    drops = {s["id"]: s["dropped"] for s in run.manifest["stages"]}
    return ReportData(run.manifest, sources, mixes, tallies.clusters(run), tallies.samples(), labels, drops)


# -- rejects: drops per (stage, entry), clusters, samples ---------------------------


class _Tallies:
    def __init__(self, run: RunFiles) -> None:
        self.seed = run.plan["seed"]
        self.drops: dict = defaultdict(Counter)  # (stage, entry) -> rule -> count
        self.near: dict = defaultdict(lambda: defaultdict(list))  # stage -> kept id -> [ids]
        self.exact: dict = defaultdict(lambda: defaultdict(list))  # stage -> key -> [ids]
        self.texts: dict = {}  # id -> instruction: of a few members of each cluster, and of kept ids
        self.kept: set = set()  # ids that near-duplicate rejects name
        self.heaps: dict = defaultdict(list)  # stage -> [(-key, n, reject)] (max-heaps of the smallest)
        self.salts: dict = {}
        self.count = 0

    def add(self, reject: dict) -> None:
        example = reject.get("example")
        stage = reject["stage"]
        entry = example["entry"] if example else None
        self.drops[(stage, entry)][reject["rule"]] += 1
        if example is not None:
            group = None
            if reject["rule"] == "near-duplicate":
                self.kept.add(reject["value"]["kept"])
                group = self.near[stage][reject["value"]["kept"]]
            elif reject["rule"] == "duplicate":
                group = self.exact[stage][reject["value"]]
            if group is not None:
                group.append(example["id"])
            # texts only for what a cluster table can show; a kept id is named before it is dropped
            if (group is not None and len(group) <= 3) or example["id"] in self.kept:
                self.texts.setdefault(example["id"], example["instruction"])
        self._sample(stage, reject)

    def _sample(self, stage: str, reject: dict) -> None:
        salt = self.salts.get(stage)
        if salt is None:
            salt = self.salts[stage] = stage_seed(self.seed, stage + "#report")
        key = xxh3_64_intdigest(_reject_identity(reject).encode(), salt)
        heap = self.heaps[stage]
        self.count += 1
        item = (-key, -self.count, reject)
        if len(heap) < SAMPLES:
            heapq.heappush(heap, item)
        elif item > heap[0]:
            heapq.heapreplace(heap, item)

    def samples(self) -> dict:
        return {stage: [r for _, _, r in sorted(heap, reverse=True)] for stage, heap in self.heaps.items()}

    def dropped(self, stage: str, entry: str | None) -> dict:
        return dict(sorted(self.drops.get((stage, entry), Counter()).items()))

    def _largest(self, groups: dict) -> list:
        return sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:CLUSTERS_SHOWN]

    def kept_ids(self) -> set[str]:
        return {kept for groups in self.near.values() for kept, _ in self._largest(groups)
                if kept not in self.texts}

    def clusters(self, run: RunFiles) -> list[Cluster]:
        found = []
        for stage in (s for s in run.plan["stages"] if s["op"] in ("dedup.near", "dedup.exact")):
            groups = self.near.get(stage["id"]) if stage["op"] == "dedup.near" else self.exact.get(stage["id"])
            if groups is None:
                groups = {}
            sizes = Counter(len(members) + 1 for members in groups.values())
            largest = self._largest(groups)
            found.append(Cluster(stage["id"], stage["op"].split(".")[1], dict(sorted(sizes.items())),
                                 [(kept, self.texts.get(kept), len(ids), [self.texts.get(i) for i in ids[:3]])
                                  for kept, ids in largest]))
        return found


def _reject_identity(reject: dict) -> str:
    example = reject.get("example")
    if example is not None:
        return example["id"]
    if reject["rule"] == "unsampled":
        return str(reject["value"])
    return f"{reject.get('source')}/{reject.get('row')}/{reject.get('part')}/{reject.get('line')}"


# -- per mix ------------------------------------------------------------------------


def _stat_step(run: RunFiles, stage: dict, label: str | None = None) -> Step:
    stats = run.stats[stage["id"]]
    return Step(stage["id"], stage["op"], label or stage_label(stage), stats["rows_in"], stats["rows_out"],
                dict(stats["dropped"]))


def _mix_report(run: RunFiles, mix: MixView, tallies: _Tallies, wanted: set[str]) -> MixReport:
    summary = next(m for m in run.manifest["mixes"] if m["stage"] == mix.id)
    primary = next((o for o in run.outputs() if mix.writes and o["stage"] == mix.writes[0]["id"]), None)
    facts = _OutputFacts(run, mix, primary, wanted)
    tallies.texts.update(facts.found)
    funnels = [_funnel(run, mix, entry, summary, tallies) for entry in mix.entries]
    chain = [_stat_step(run, s) for s in mix.chain]
    entries = _mix_entries(mix, summary, facts.written)
    lengths = [facts.lengths(e.name, e.source) for e in mix.entries]
    return MixReport(mix.id, mix.name, summary["size"], primary["path"] if primary else None, funnels, chain,
                     entries, lengths, summary["diversity"], facts.kept)


def _funnel(run: RunFiles, mix: MixView, entry, summary: dict, tallies: _Tallies) -> EntryFunnel:
    steps = [_stat_step(run, entry.read, f"read {entry.source}"), _stat_step(run, entry.stage)]
    rows = steps[-1].rows_out
    for stage in mix.chain:
        dropped = tallies.dropped(stage["id"], entry.name)
        left = rows - sum(dropped.values())
        steps.append(Step(stage["id"], stage["op"], stage_label(stage), rows, left, dropped))
        rows = left
    allocation = next(e for e in summary["entries"] if e["name"] == entry.name)
    short = (summary["diversity"].get("targets") or {}).get("short", {}).get(entry.name, 0)
    drawn = allocation["taken"] - short
    unsampled = max(0, allocation["available"] - drawn)
    steps.append(Step(mix.id, "mix", f"mix {mix.name}", allocation["available"], drawn,
                      {"unsampled": unsampled} if unsampled else {}))
    return EntryFunnel(entry.name, entry.source, steps)


def _mix_entries(mix: MixView, summary: dict, written: Counter) -> list[MixEntry]:
    available = [e["available"] for e in summary["entries"]]
    declared = declared_shares(mix.stage["params"], summary["size"], available)
    shorts = (summary["diversity"].get("targets") or {}).get("short", {})
    total = sum(written.values()) or 1
    rows = []
    for entry, spec, share, allocation in zip(mix.entries, mix.stage["params"]["entries"], declared,
                                              summary["entries"]):
        count = written.get(entry.name, 0)
        rows.append(MixEntry(entry.name, entry.source, entry_spec(spec), share, allocation["available"],
                             allocation["taken"], shorts.get(entry.name, 0), allocation["epochs"], count,
                             count / total))
    return rows


# -- the outputs ----------------------------------------------------------------------


class _OutputFacts:
    """What the mix's first output says per entry: rows written, word lengths, a sample.
    One pass; rows whose entry the provenance does not say wait (as numbers) for one
    search of their ids (runtime/identity.py)."""

    def __init__(self, run: RunFiles, mix: MixView, output: dict | None, wanted: set[str]) -> None:
        self.found: dict[str, str] = {}  # id -> instruction, of the wanted ids
        self.written: Counter = Counter()
        self.words: dict = defaultdict(lambda: ([], []))  # entry -> (instruction words, output words)
        self.kept: list = []
        if output is None:
            return
        self.keys = [EntryKeys(e, run.plan["seed"], run.stats[e.read["id"]]["rows_in"]) for e in mix.entries]
        self.templates = {e.name for e in mix.entries if e.stage["op"] == "render"}
        salt = stage_seed(run.plan["seed"], mix.id + "#report")
        pending: list[tuple[int, int, int]] = []  # (id, instruction words, output words)
        sample: list = []
        for line, record in run.output_rows(output):
            texts = texts_of(record)
            number = int(record["id"].split("-", 1)[0], 16)
            if record["id"] in wanted:
                self.found[record["id"]] = texts["instruction"]
            sizes = (len(texts["instruction"].split()), len(texts["output"].split()))
            entry = self._entry(record, number)
            if entry is None:
                pending.append((number, *sizes))
            else:
                self._count(entry, sizes)
            item = (-xxh3_64_intdigest(record["id"].encode(), salt), line, record["id"], entry, texts)
            (heapq.heappush if len(sample) < KEPT_SAMPLES else heapq.heappushpop)(sample, item)
        found = search(self.keys, {n for n, _, _ in pending}) if pending else {}
        for number, *sizes in pending:
            self._count(found[number].entry if number in found else "(unattributed)", sizes)
        self.kept = [{"id": i, "entry": e or _entry_name(found, i), "line": n, **t}
                     for _, n, i, e, t in sorted(sample, reverse=True)]

    def _entry(self, record: dict, number: int) -> str | None:
        """The entry from provenance: its template, or the entry whose keys at its row make its id."""
        prov = record.get("provenance") or {}
        if prov.get("template") in self.templates:
            return prov["template"]
        if "row" not in prov:
            return None
        keys = [k for k in self.keys if prov.get("source") in (None, k.entry.source)]
        for k in keys:
            found = at_row([k], k.entry.source, prov["row"], prov.get("part", 0))
            if number in found:
                return found[number].entry
        return None

    def _count(self, entry: str, sizes) -> None:
        self.written[entry] += 1
        self.words[entry][0].append(sizes[0])
        self.words[entry][1].append(sizes[1])

    def lengths(self, entry: str, source: str) -> Lengths:
        instruction, output = self.words.get(entry, ([], []))
        return Lengths(entry, source, histogram(instruction), histogram(output), describe(instruction),
                       describe(output))


def _entry_name(found: dict, example_id: str) -> str:
    identity = found.get(int(example_id.split("-", 1)[0], 16))
    return identity.entry if identity else "(unattributed)"


_LOWS = [low for low, _ in BINS]


def histogram(values: list[int]) -> list[int]:
    counts = [0] * len(BINS)
    for value in values:
        counts[bisect.bisect_right(_LOWS, value) - 1] += 1
    return counts


def describe(values: list[int]) -> dict:
    if not values:
        return {"n": 0, "min": None, "median": None, "mean": None, "max": None}
    ordered = sorted(values)
    middle = len(ordered) // 2
    median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return {"n": len(ordered), "min": ordered[0], "median": median, "mean": round(sum(ordered) / len(ordered), 1),
            "max": ordered[-1]}
