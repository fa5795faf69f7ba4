"""The indexes in a data folder: which workspace each belongs to, how big it is, and
removing those whose workspace is gone (`mochi index --list` / `--gc`).

Each index (with the token memory inside it) lives in `<data>/indexes/<folder>-<hash>`;
the workspace's path is recorded in its manifest when it is opened. Indexes made before
mochi recorded it show their workspace as unknown and are never collected."""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from mochi.rag.index.lock import IndexLock, IndexLockedError

INDEXES = "indexes"
MANIFEST = "manifest.sqlite"
ROOT_KEY = "root"


@dataclass(frozen=True, slots=True)
class IndexEntry:
    location: Path
    root: Path | None  # None: not recorded
    chunks: int
    bytes: int
    modified: float  # when it last changed (Unix time)

    @property
    def orphaned(self) -> bool:
        """Its workspace folder no longer exists (moved, deleted, a temporary folder)."""
        return self.root is not None and not self.root.is_dir()

    def to_json(self) -> dict[str, object]:
        return {
            "location": str(self.location),
            "workspace": None if self.root is None else str(self.root),
            "orphaned": self.orphaned,
            "chunks": self.chunks,
            "bytes": self.bytes,
            "modified": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(self.modified)),
        }


def list_indexes(data: Path) -> list[IndexEntry]:
    """Every index under `data`, largest first."""
    folder = data / INDEXES
    if not folder.is_dir():
        return []
    entries = [_entry(p) for p in folder.iterdir() if p.is_dir() and not p.is_symlink()]
    return sorted(entries, key=lambda e: (-e.bytes, str(e.location)))


def remove_index(entry: IndexEntry) -> None:
    """Delete one index; IndexLockedError while a mochi process has it open."""
    lock = IndexLock(entry.location / "lock").acquire(str(entry.root or entry.location))
    try:
        shutil.rmtree(entry.location)
    finally:
        lock.release()


def collect_orphans(data: Path, *, dry_run: bool = False) -> tuple[list[IndexEntry], list[str]]:
    """Remove the indexes whose workspace is gone: (removed, why others were kept)."""
    removed: list[IndexEntry] = []
    kept: list[str] = []
    for entry in list_indexes(data):
        if not entry.orphaned:
            continue
        if not dry_run:
            try:
                remove_index(entry)
            except IndexLockedError:
                kept.append(f"{entry.location}: in use by a mochi process")
                continue
            except OSError as exc:
                kept.append(f"{entry.location}: {exc}")
                continue
        removed.append(entry)
    return removed, kept


def _entry(location: Path) -> IndexEntry:
    root, chunks = _manifest_facts(location / MANIFEST)
    size, modified = 0, 0.0
    for path in location.rglob("*"):
        try:
            stat = path.lstat()
        except OSError:
            continue
        if path.is_file():
            size += stat.st_size
        modified = max(modified, stat.st_mtime)
    return IndexEntry(location, root, chunks, size, modified)


def _manifest_facts(path: Path) -> tuple[Path | None, int]:
    """The recorded workspace and the chunk count, read without writing anything."""
    if not path.is_file():
        return None, 0
    try:
        db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
        try:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (ROOT_KEY,)).fetchone()
            (chunks,) = db.execute("SELECT count(*) FROM chunks").fetchone()
        finally:
            db.close()
    except sqlite3.Error:  # not a manifest, or a broken one: nothing recorded
        return None, 0
    if not row:
        return None, int(chunks)
    value = row[0]  # bytes: a path that is not UTF-8 (see Manifest.set_meta)
    return Path(os.fsdecode(value) if isinstance(value, bytes) else value), int(chunks)
