"""The Ray engine: the same plan on Ray Data, with the local engine's bytes.

`recipekit run --engine ray [--address ADDR]`. `RayEngine` is the local
engine (runtime/engine.py) with one part replaced: how a mix's entries stream
through the filter stages into the mix (`_stream_union`). Per mix:

1. **read, render, row-local filters** (parallel per block): a JSONL file is
   cut at line starts into blocks of `batch_size` lines, each a Ray Data read
   task that reads its lines with `read_source` (rows numbered from the
   block's first line, so identities are the local ones), renders or expands
   them and runs the filters up to the first stage that depends on the order
   of the stream. Another format is read whole by one task, and its blocks
   go through the same stages in `map_batches`;
2. **exact dedup** (a shuffle): the blocks are materialized, their keys are
   grouped by a hash partition of the key (`groupby().map_groups`), and each
   key's first occurrence in stream order — the smallest (entry, block,
   index) — is kept (runtime/ray_blocks.py); the row-local stages after it
   run per block;
3. **the rest on the driver**: the blocks come back in stream order (mix
   order, then file order), their rejects and counts are recorded, and the
   local engine's own code runs what depends on the order of the stream —
   near dedup (greedy keep-first), agreement — then the mix's selector and
   the writers.

Every decision being a pure function of (seed, stage, identity), and every
stage seeing its examples in the local order, the outputs, rejects.jsonl and
the manifest's counts are the local engine's; the manifest says `"engine":
"ray"`, and the seconds of a parallel stage are summed over the workers.

`ray` is imported only here and in runtime/ray_blocks.py, when a run asks
for this engine.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections import Counter
from typing import Any, Iterator

import attrs

from .engine import Engine, RunResult, RunSettings
from .errors import RunError
from .paraphrase import Expander
from .readers import read_source
from .records import SourceRow
from .render import Renderer

RAY_HINT = "pip install 'recipekit[ray]'"
ROW_LOCAL = frozenset({"filter.length", "filter.regex", "filter.required", "score", "decontaminate"})
SHUFFLED = frozenset({"dedup.exact"})


def parallel_prefix(chain: list[dict]) -> int:
    """How many of the chain's stages run on the workers: those before the first one
    that depends on the order of the stream (near dedup, agreement)."""
    for number, stage in enumerate(chain):
        if stage["op"] not in ROW_LOCAL | SHUFFLED:
            return number
    return len(chain)


def import_ray():
    try:
        import ray
        import ray.data  # noqa: F401  (the `data` extra: pandas, pyarrow)
    except ImportError as error:
        raise RunError(f"`--engine ray` needs Ray Data, which is not installed ({error})", hint=RAY_HINT) from None
    return ray


class RayEngine(Engine):
    """The local engine with its union stream on Ray: `_stream_union` is the one part that
    differs (what reaches a mix, and in which order, is the same); everything around it —
    the filter stages left to the driver, the selection, the writers, the counts — is the
    local engine's own code."""

    def __init__(self, plan: dict, settings: RunSettings, address: str | None = None) -> None:
        super().__init__(plan, attrs.evolve(settings, workers=1))  # no local worker processes
        self.address = address

    def run(self) -> RunResult:
        ray = import_ray()
        self._check_inputs()  # before a cluster starts
        started_here = _connect(ray, self.address)
        try:
            with _quiet_data_context(ray):
                _check_workers(ray)
                self.ray = ray
                self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
                return super().run()
        finally:
            if started_here:
                ray.shutdown()

    def _stream_union(self, union: dict, chain: list, processors: list, selector, mix: dict,
                      writes: list[dict]) -> None:
        split = parallel_prefix(chain)
        entries, records = self._entries(union)
        self.parallel_entries += [f"{mix['id'].split(':', 1)[1]}/{entry.name}" for entry in entries]
        for examples in self._merged(entries, records, chain[:split], processors[:split]):
            self._through(chain, processors, split, examples, selector, mix)

    def _entries(self, union: dict) -> tuple[list, dict]:
        """The entries to read, and which stage ids each block's log may count: a stage
        shared by several entries or mixes (a read, a render, a union) counts once."""
        from .ray_blocks import EntrySpec, line_spans

        entries, records = [], {}
        for index, (name, stage_id) in enumerate(zip(union["params"]["entries"], union["inputs"])):
            transform = self.stages[stage_id]
            read = self.stages[transform["inputs"][0]]
            expander, pool = self._check_transform(name, transform, read)
            records[index] = {s for s in (read["id"], transform["id"], union["id"]) if s not in self.recorded}
            self.recorded |= {read["id"], transform["id"]}
            size = min(self.settings.batch_size, 1 << 24)
            spans = None  # a JSONL file is read in blocks of lines, in parallel (not with --limit: rows)
            if read["params"].get("format") == "jsonl" and self.settings.limit is None:
                spans = line_spans(self.settings.root / read["params"]["path"], size)
            entries.append(EntrySpec(index, name, read, transform, union["id"], str(self.settings.root.resolve()),
                                     size, self.settings.limit, pool, expander, spans))
        self.recorded.add(union["id"])
        return entries, records

    def _check_transform(self, name: str, stage: dict, read: dict) -> tuple:
        """What the workers need of the transform, built here: an expansion whole (with
        the instances it reads from another source, counted as the local engine counts
        them), a template's few-shot exemplars (they need the whole source). A plan the
        transform cannot run fails here, before the workers start."""
        if stage["op"] == "expand":
            from .ray_blocks import Shared

            return Shared(Expander(stage, name, self.seed, self._rows_of)), None
        renderer = Renderer(stage, name, self.seed)
        if not renderer.needs_pool():
            return None, None
        source = read["id"].split(":", 1)[1]
        rows = read_source(read["params"], self.settings.root, read["id"], source)
        renderer.set_pool(r for r in self._limited(rows) if isinstance(r, SourceRow))
        return None, renderer.pool

    def _merged(self, entries: list, records: dict, stages: list[dict], processors: list) -> Iterator[list]:
        """The examples after the parallel stages, block by block in stream order; each
        block's rejects and counts are recorded as it arrives."""
        from .ray_blocks import ENTRY_SHIFT, BlockStep, EntryFiles, Shared, dedup_block, table_blocks

        ray = self.ray
        shipped = {s["id"]: p for s, p in zip(stages, processors) if s["op"] == "decontaminate"}
        common = {"seed": self.seed, "shipped": Shared(shipped) if shipped else None,
                  "allowed_scorers": self.settings.allowed_scorers}
        segments = _segments(stages)
        following = [segment[0] for segment in segments[1:]] + [None]  # the exact dedup after each segment
        first = BlockStep(stages=segments[0], next_dedup=following[0], **common)
        dataset = ray.data.read_datasource(EntryFiles(entries, first))
        if any(entry.spans is None for entry in entries):  # raw blocks of whole files: render and filter them
            dataset = dataset.map_batches(attrs.evolve(first, entries={e.index: e for e in entries}),
                                          batch_size=1, batch_format="pyarrow", zero_copy_batch=True)
        last = None  # an exact dedup that ends the parallel stages drops its duplicates here
        for number, (segment, after) in enumerate(zip(segments[1:], following[1:]), 1):
            dataset = dataset.materialize()
            seeds = _shuffle(ray, dataset)
            if number == len(segments) - 1 and len(segment) == 1:
                last = segment[0], seeds
                break
            dataset = dataset.map_batches(
                BlockStep(stages=segment[1:], dedup=segment[0], seeds=seeds, next_dedup=after, **common),
                batch_size=1, batch_format="pyarrow", zero_copy_batch=True)
        seen: dict[int, int] = {}
        for block in _in_order(dataset, table_blocks, len(entries), ENTRY_SHIFT):
            if last is not None:
                dedup_block(last[0], block, last[1].get(block.number, b""))
            entry = entries[block.number >> ENTRY_SHIFT]
            seen[entry.index] = seen.get(entry.index, 0) + block.payload["items"]
            self._record(records[entry.index], block.payload, entry, seen[entry.index])
            yield block.payload["examples"]

    def _record(self, counted: set, payload: dict, entry, seen: int) -> None:
        for stage_id, rows_in, rows_out, seconds, rules, lines in payload["log"]:
            if stage_id not in counted and stage_id in (entry.read["id"], entry.transform["id"], entry.union):
                continue
            stats = self.stats[stage_id]
            stats.rows_in += rows_in
            stats.rows_out += rows_out
            stats.seconds += seconds
            self.rejects.add_encoded(stats, Counter(rules), lines)
            if stage_id == entry.read["id"] and self.settings.progress:
                self.settings.progress(stage_id, seen)


def _segments(stages: list[dict]) -> list[list[dict]]:
    """The parallel stages cut before each exact dedup: [row-local...], then
    [dedup, row-local...] for each exact dedup."""
    segments: list[list[dict]] = [[]]
    for stage in stages:
        if stage["op"] in SHUFFLED:
            segments.append([stage])
        else:
            segments[-1].append(stage)
    return segments


def _shuffle(ray, dataset) -> dict[int, bytes]:
    """Exact dedup's groupby: block -> the keys it must treat as seen (their first
    occurrence is in an earlier block), gathered on the driver."""
    from .ray_blocks import cross_block_firsts, explode_keys, seeds_by_block

    cpus = int(ray.cluster_resources().get("CPU", 1))
    partitions = max(1, 2 * cpus)
    # about `partitions` key blocks go into the shuffle, not one a data block: a sort shuffle
    # makes blocks x partitions pieces (245 x 245 on 1M rows: 26 s; 4 x 4: 1.5 s)
    per_task = max(1, -(-dataset.count() // partitions))
    keys = dataset.select_columns(["block", "keys"]).map_batches(
        explode_keys, fn_kwargs={"partitions": partitions}, batch_format="numpy", batch_size=per_task)
    firsts = keys.groupby("part").map_groups(cross_block_firsts, batch_format="numpy")
    return seeds_by_block(firsts.iter_batches(batch_format="numpy", batch_size=None))


def _in_order(dataset, decode, entries: int, shift: int) -> Iterator:
    """The dataset's blocks in stream order. Ray Data keeps the order (preserve_order);
    blocks that come early anyway wait here until their turn."""
    waiting: dict[int, Any] = {}
    expected, done = 0, 0
    for table in dataset.iter_batches(batch_size=None, batch_format="pyarrow"):
        for block in decode(table):
            waiting[block.number] = block
            while expected in waiting:
                block = waiting.pop(expected)
                yield block
                if block.last:
                    done += 1
                    expected = done << shift  # the next entry's first block
                else:
                    expected += 1
    if waiting or done != entries:
        raise RunError(f"the Ray engine lost blocks of the stream ({done} of {entries} entries complete)",
                       hint="this is a recipekit bug; please report it")


# -- connecting and quieting Ray --------------------------------------------------------


def _connect(ray, address: str | None) -> bool:
    """Connect to `address`, or start a local cluster; True when this run started Ray."""
    if ray.is_initialized():
        return False
    if address is not None:
        _check_reachable(address)
    elif "RAY_ADDRESS" not in os.environ:  # set by `ray job submit`: Ray connects to it
        address = "local"  # a new cluster, never one that a stale /tmp/ray/ray_current_cluster names
    try:
        # Ray's own notices (a new auth token, ...) are not the run's business: errors only
        ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    except (ConnectionError, ValueError, RuntimeError) as error:
        if address in (None, "local"):
            raise RunError(f"cannot start a local Ray cluster: {error}") from None
        raise RunError(f"cannot connect to the Ray cluster at {address}: {error}",
                       hint="a cluster with token authentication (Ray's default) needs RAY_AUTH_MODE=token "
                            "and its token (RAY_AUTH_TOKEN or ~/.ray/auth_token); `auto` needs `ray start` "
                            "on this machine") from None
    return True


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail fast on a `HOST:PORT` (or `ray://HOST:PORT`) that answers nothing: Ray itself
    retries for minutes. Other forms (`auto`, `local`) are Ray's to resolve."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as error:
        raise RunError(f"cannot reach the Ray cluster at {address}: {error.strerror or error}",
                       hint="check the address (`ray status` on the head node prints it), "
                            "or leave out --address for a local cluster") from None


def _check_workers(ray) -> None:
    """The workers must run the recipekit this driver runs: the same code, the same bytes."""
    from .manifest import tool_version

    def probe() -> str | None:  # defined here so that Ray ships it by value
        try:
            import importlib
            from importlib import metadata

            importlib.import_module("recipekit.runtime.ray_blocks")
            return metadata.version("recipekit")
        except Exception:
            return None

    found = ray.get(ray.remote(probe).remote())
    if found is None:
        raise RunError("the Ray workers cannot import recipekit", hint="install the same recipekit on every node")
    if found != tool_version():
        raise RunError(f"the Ray workers run recipekit {found}, this driver {tool_version()}",
                       hint="install the same recipekit on every node")


@contextlib.contextmanager
def _quiet_data_context(ray):
    """Ray Data settings for a run: keep the order of blocks, no progress bars or
    execution logs on the terminal (recipekit shows its own), errors as raised."""
    context = ray.data.DataContext.get_current()
    wanted: dict[str, Any] = {"enable_progress_bars": False, "print_on_execution_start": False,
                              "enable_auto_log_stats": False, "raise_original_map_exception": True}
    # the sort-based shuffle runs as plain tasks: the hash shuffle's aggregator actors take
    # seconds to start, which a small run feels and a large one does not need
    wanted["shuffle_strategy"] = "sort_shuffle_pull_based"
    # a share of the cluster reserved per operator left a 2-CPU cluster running one read
    # task at a time (measured: 60 tasks of 0.1 s, 7.8 s with it, 3.9 s without)
    wanted["op_resource_reservation_enabled"] = False
    saved = {name: getattr(context, name) for name in wanted if hasattr(context, name)}
    order = context.execution_options.preserve_order
    logger = logging.getLogger("ray.data")
    level = logger.level
    for name in saved:
        setattr(context, name, wanted[name])
    context.execution_options.preserve_order = True
    logger.setLevel(logging.ERROR)
    try:
        yield
    except Exception as error:
        cause = _run_error_in(error)
        if cause is None:
            raise
        raise cause from None
    finally:
        for name, value in saved.items():
            setattr(context, name, value)
        context.execution_options.preserve_order = order
        logger.setLevel(level)


def _run_error_in(error: BaseException) -> RunError | None:
    """The RunError a worker raised, out of Ray's wrappers."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, RunError) and type(error) is RunError:
            return error
        cause = getattr(error, "cause", None)
        error = cause if isinstance(cause, BaseException) else (error.__cause__ or error.__context__)
    return None
