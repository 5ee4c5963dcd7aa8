"""`recipekit cache ls|gc`: what the stage cache holds, and pruning it."""

from __future__ import annotations

import time

from rich.console import Console
from rich.table import Table

from ..runtime.stage_cache import StageCache, default_cache_dir
from .cli import EXIT_OK, EXIT_USAGE, stderr_console


def run_cache(args) -> int:
    cache = StageCache(args.cache_dir or default_cache_dir())
    if args.action == "ls":
        return _list(cache)
    if not (args.all or args.older_than is not None or args.max_size is not None):
        stderr_console().print("error: say what to remove: --older-than AGE, --max-size SIZE or --all",
                               style="red", markup=False)
        return EXIT_USAGE
    removed = cache.gc(older_than=0.0 if args.all else args.older_than, max_bytes=args.max_size)
    freed = sum(e.bytes for e in removed)
    Console(highlight=False).print(f"removed {len(removed)} entries ({human_size(freed)}) from {cache.root}",
                                   markup=False)
    return EXIT_OK


def _list(cache: StageCache) -> int:
    entries = sorted(cache.entries(), key=lambda e: -e.used)
    table = Table(title=f"stage cache: {cache.root}", title_justify="left")
    for column, justify in (("key", "left"), ("kind", "left"), ("holds", "left"), ("size", "right"),
                            ("last used", "right")):
        table.add_column(column, justify=justify)
    now = time.time()
    for entry in entries:
        table.add_row(entry.key[:12], entry.kind, entry.label, human_size(entry.bytes), _ago(now - entry.used))
    console = Console(highlight=False)
    console.print(table)
    console.print(f"{len(entries)} entries, {human_size(sum(e.bytes for e in entries))}", markup=False)
    return EXIT_OK


def human_size(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"


def _ago(seconds: float) -> str:
    for limit, unit in ((120, "s"), (7200, "m"), (172_800, "h")):
        if seconds < limit:
            return f"{seconds / {'s': 1, 'm': 60, 'h': 3600}[unit]:.0f}{unit} ago"
    return f"{seconds / 86400:.0f}d ago"
