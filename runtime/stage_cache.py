"""The stage cache: content-addressed results of finished stages, shared by runs.

An entry is a folder named by its key (runtime/stage_keys.py and the
engine's unit keys). It is written under `tmp/` and renamed into place only
once complete, so a run killed at any point (SIGKILL included) leaves no
partial entry under a key: the next run finds every entry that finished and
recomputes the rest. Two runs that compute the same key write the same bytes;
the second rename loses and its copy is dropped. Entries are read-only once
in place, so runs of different recipes can share one cache.

Entries are not fsynced (that would cost a cold run a second of disk time a
GB); a machine that crashes can leave files cut short under a committed key.
`entry.json` records every file's size, and a lookup that finds another size
drops the entry and recomputes it. An entry damaged otherwise (edited, its
sizes intact) is a RunError when read (runtime/cache_units.py).

Layout: `ROOT/ab/abcdef.../` with `entry.json` (what it is: kind, label,
created, its files' sizes) beside the entry's own files; `ROOT/tmp/` holds
entries being written.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from pathlib import Path

import attrs


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


DEFAULT_MAX_SIZE = "10G"


def parse_size(text: str) -> int:
    """Bytes in `500M`, `2G`, `1.5T` or a plain number (ValueError otherwise)."""
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    text = text.strip()
    if text[-1:].isalpha():
        if text[-1].upper() not in units:
            raise ValueError(f"{text!r} is not a size like 500M or 2G")
        return int(float(text[:-1]) * units[text[-1].upper()])
    return int(text)


def max_size_setting() -> tuple[int | None, str]:
    """The most the CLI lets its cache hold after a run: `$RECIPEKIT_CACHE_MAX_SIZE`
    (`none` for no limit), else 10G; and the setting as written."""
    text = os.environ.get("RECIPEKIT_CACHE_MAX_SIZE") or DEFAULT_MAX_SIZE
    if text.strip().lower() == "none":
        return None, text
    try:
        return parse_size(text), text
    except ValueError:
        raise ValueError(f"RECIPEKIT_CACHE_MAX_SIZE={text!r} is not a size like 500M or 2G, or none") from None


def _whole(entry: Path) -> bool:
    """Whether an entry's files are all there, at the sizes `commit` recorded."""
    try:
        sizes = json.loads((entry / "entry.json").read_text())["files"]
        return all(_size(entry / name) == size for name, size in sizes.items())
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def default_cache_dir() -> Path:
    """`$RECIPEKIT_CACHE_DIR`, else `$XDG_CACHE_HOME/recipekit`, else `~/.cache/recipekit`."""
    if os.environ.get("RECIPEKIT_CACHE_DIR"):
        return Path(os.environ["RECIPEKIT_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "recipekit"


@attrs.frozen
class Entry:
    key: str
    path: Path
    kind: str  # entry (a mix entry's examples) or mix (a mix's filtered pools)
    label: str  # what it holds, in words: `mix train`, `entry train/copy`
    bytes: int
    used: float  # when a run last used it (seconds since the epoch)


class StageCache:
    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "tmp").mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / key

    def lookup(self, key: str) -> Path | None:
        """The entry under `key`, or None. An entry whose files are not the sizes they had
        when it was committed (cut short by a crash: entries are not fsynced) is removed,
        and the stages it held are computed again."""
        path = self._path(key)
        if not path.exists():
            return None
        if not _whole(path):
            shutil.rmtree(path, ignore_errors=True)
            return None
        os.utime(path)  # recently used: `gc --max-size` keeps it longer
        return path

    def begin(self) -> Path:
        """A fresh folder to write an entry into, before `commit`."""
        path = self.root / "tmp" / uuid.uuid4().hex
        path.mkdir(parents=True)
        return path

    def commit(self, scratch: Path, key: str, kind: str, label: str) -> Path:
        """Put a finished entry in place, atomically; returns where it is."""
        files = {f.name: f.stat().st_size for f in sorted(scratch.iterdir()) if f.is_file()}
        (scratch / "entry.json").write_text(json.dumps({"key": key, "kind": kind, "label": label,
                                                        "created": time.time(), "files": files}) + "\n")
        final = self._path(key)
        final.parent.mkdir(exist_ok=True)
        try:
            os.rename(scratch, final)
        except OSError:  # another run finished the same entry first: the same bytes
            if self.lookup(key) is None:  # ...or what is there is not whole, and now gone
                os.rename(scratch, final)
            else:
                shutil.rmtree(scratch, ignore_errors=True)
        return final

    def discard(self, scratch: Path) -> None:
        shutil.rmtree(scratch, ignore_errors=True)

    def entries(self) -> list[Entry]:
        found = []
        for meta in sorted(self.root.glob("??/*/entry.json")):
            try:
                info = json.loads(meta.read_text())
            except (OSError, ValueError):
                continue
            folder = meta.parent
            size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
            found.append(Entry(folder.name, folder, info.get("kind", "?"), info.get("label", ""), size,
                               folder.stat().st_mtime))
        return found

    def gc(self, older_than: float | None = None, max_bytes: int | None = None,
           now: float | None = None, keep_since: float | None = None) -> list[Entry]:
        """Remove entries unused for `older_than` seconds, then the least recently used
        until the cache holds at most `max_bytes`, but never one used since `keep_since`
        (the run that trims the cache keeps what it used); scratch folders of runs that
        died (a day old) go too. Returns what was removed."""
        now = time.time() if now is None else now
        for scratch in (self.root / "tmp").iterdir():
            if now - scratch.stat().st_mtime > 86_400:
                shutil.rmtree(scratch, ignore_errors=True)
        entries = sorted(self.entries(), key=lambda e: e.used)
        removed = [e for e in entries if older_than is not None and now - e.used > older_than]
        kept = [e for e in entries if e not in removed]
        if max_bytes is not None:
            total = sum(e.bytes for e in kept)
            while kept and total > max_bytes and (keep_since is None or kept[0].used < keep_since):
                oldest = kept.pop(0)
                removed.append(oldest)
                total -= oldest.bytes
        for entry in removed:
            shutil.rmtree(entry.path, ignore_errors=True)
        return removed
