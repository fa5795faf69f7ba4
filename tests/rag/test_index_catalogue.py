"""`mochi index --list` and `--gc`: the data folder's indexes with their workspaces, and
removing those whose workspace folder is gone, never one in use or of unknown origin.

Real indexes (the hashing embedder stands in for the model: it is not under test) and
the real command line."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from hashing_embedder import HashingEmbedder
from mochi_cli import mochi

from mochi.rag.config import RagConfig
from mochi.rag.index import open_workspace_index
from mochi.rag.paths import index_dir


def workspace(parent: Path, name: str) -> Path:
    root = parent / name
    root.mkdir(parents=True)
    (root / "main.py").write_text(f"def {name}():\n    return 1\n", encoding="utf-8")
    return root


def build_index(root: Path, data: Path) -> None:
    config = RagConfig(data_dir=str(data))
    config.index.include_history = False
    with open_workspace_index(root, config, embedder=HashingEmbedder()) as index:
        index.sync()


def test_list_and_collect_indexes_whose_workspace_is_gone(tmp_path: Path) -> None:
    data = tmp_path / "xdg" / "mochi"
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "xdg"), "HF_HUB_OFFLINE": "1"}
    kept, gone, busy, legacy = (workspace(tmp_path, n) for n in ("kept", "gone", "busy", "old"))
    for root in (kept, gone, busy, legacy):
        build_index(root, data)
    db = sqlite3.connect(index_dir(data, legacy) / "manifest.sqlite")
    db.execute("DELETE FROM meta WHERE key = 'root'")  # as an index of an older mochi
    db.commit()
    db.close()
    for root in (gone, busy, legacy):
        for path in root.iterdir():
            path.unlink()
        root.rmdir()

    listed = mochi("index", str(kept), "--list", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    entries = {e["location"]: e for e in json.loads(listed.stdout)}
    assert len(entries) == 4
    facts = {
        Path(loc).name: (e["workspace"], e["orphaned"], e["chunks"] > 0, e["bytes"] > 0)
        for loc, e in entries.items()
    }
    assert facts == {
        index_dir(data, kept).name: (str(kept.resolve()), False, True, True),
        index_dir(data, gone).name: (str(gone.resolve()), True, True, True),
        index_dir(data, busy).name: (str(busy.resolve()), True, True, True),
        index_dir(data, legacy).name: (None, False, True, True),
    }
    text = mochi("index", str(kept), "--list", env=env).stdout
    assert "4 indexes" in text and "[gone]" in text and "`mochi index --gc`" in text

    dry = mochi("index", str(kept), "--gc", "--dry-run", env=env)
    assert dry.stdout.count("would remove") == 3  # two indexes and the total
    assert all(index_dir(data, r).is_dir() for r in (kept, gone, busy, legacy))

    config = RagConfig(data_dir=str(data))
    busy.mkdir()  # the index opens only on an existing folder; then the folder goes
    with open_workspace_index(busy, config, embedder=HashingEmbedder()):
        busy.rmdir()
        collected = mochi("index", str(kept), "--gc", env=env)
    assert collected.returncode == 0, collected.stderr
    assert "removed 1 index(es)" in collected.stdout
    assert "in use by a mochi process" in collected.stderr
    assert not index_dir(data, gone).exists()
    assert all(index_dir(data, r).is_dir() for r in (kept, busy, legacy))

    again = mochi("index", str(kept), "--gc", env=env)  # busy's index is closed now
    assert "removed 1 index(es)" in again.stdout and not index_dir(data, busy).exists()
    assert mochi("index", str(kept), "--gc", env=env).stdout.strip() == "nothing to remove"
    assert index_dir(data, kept).is_dir() and index_dir(data, legacy).is_dir()


def test_dry_run_without_gc_is_refused(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "xdg"), "HF_HUB_OFFLINE": "1"}
    result = mochi("index", str(tmp_path), "--dry-run", env=env)
    assert result.returncode != 0 and "--dry-run goes with --gc" in result.stderr
    empty = mochi("index", str(tmp_path), "--list", env=env)
    assert empty.returncode == 0 and empty.stdout.startswith("no indexes in ")


def test_a_workspace_whose_name_is_not_utf8_is_listed_by_its_name(tmp_path: Path) -> None:
    from mochi.rag.index.catalogue import list_indexes

    data = tmp_path / "data"
    root = Path(os.fsdecode(bytes(tmp_path) + b"/caf\xe9"))
    root.mkdir()
    (root / "main.py").write_text("def f():\n    return 1\n", encoding="utf-8")
    build_index(root, data)
    (entry,) = list_indexes(data)
    assert entry.root == root.resolve() and not entry.orphaned and entry.chunks > 0
