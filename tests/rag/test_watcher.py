"""The watcher re-indexes changed files, debounced, with the real watchdog observer."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from git_repo import GitRepo
from hashing_embedder import HashingEmbedder

from mochi.rag.config import RagConfig
from mochi.rag.index import open_workspace_index
from mochi.rag.index.watcher import DebouncedRunner, IndexWatcher, is_relevant


def wait_for(predicate, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_debounce_coalesces_bursts() -> None:
    calls: list[float] = []
    runner = DebouncedRunner(lambda: calls.append(time.monotonic()), delay=0.1)
    runner.start()
    for _ in range(10):
        runner.trigger()
        time.sleep(0.01)
    assert wait_for(lambda: len(calls) == 1)
    time.sleep(0.3)
    assert len(calls) == 1
    runner.trigger()
    assert wait_for(lambda: len(calls) == 2)
    runner.stop()


def test_runs_never_overlap() -> None:
    active = threading.Semaphore(1)
    overlaps: list[int] = []

    def slow() -> None:
        if not active.acquire(blocking=False):
            overlaps.append(1)
            return
        time.sleep(0.1)
        active.release()

    runner = DebouncedRunner(slow, delay=0.01)
    runner.start()
    for _ in range(5):
        runner.trigger()
        time.sleep(0.05)
    assert wait_for(lambda: runner.runs >= 2)
    runner.stop()
    assert not overlaps


def test_relevance(tmp_path: Path) -> None:
    root = tmp_path.resolve()
    assert is_relevant(root, str(root / "a.py"))
    assert is_relevant(root, str(root / ".git" / "HEAD"))
    assert is_relevant(root, str(root / ".git" / "refs" / "heads" / "main"))
    assert not is_relevant(root, str(root / ".git" / "objects" / "ab" / "cd"))
    assert not is_relevant(root, str(root / "pkg" / "__pycache__" / "a.pyc"))
    assert not is_relevant(root, "/elsewhere/a.py")


def test_saved_file_becomes_searchable(git_repo: GitRepo, tmp_path: Path) -> None:
    git_repo.write("a.py", "def first():\n    return 1\n")
    git_repo.commit("first")
    config = RagConfig(data_dir=str(tmp_path / "data"))
    with open_workspace_index(git_repo.root, config, embedder=HashingEmbedder()) as index:
        index.sync()
        watcher = IndexWatcher(git_repo.root, index.sync, debounce_ms=50)
        watcher.start()
        try:
            git_repo.write("b.py", "def brand_new_helper():\n    return 2\n")
            assert wait_for(
                lambda: any(
                    "brand_new_helper" in h.text
                    for h in index.search("brand new helper", 3, mode="sparse")
                )
            )
            (git_repo.root / "a.py").unlink()
            assert wait_for(lambda: "a.py" not in index.manifest.docs("workspace"))
        finally:
            watcher.stop()


def test_a_link_is_a_change_of_its_own_not_of_its_target(git_repo: GitRepo, tmp_path: Path) -> None:
    outside = tmp_path / "outside.py"
    outside.write_text("def outside_secret():\n    return 'OUTSIDE-MARKER'\n")
    root = git_repo.root.resolve()
    (root / "link.py").symlink_to(outside)
    assert is_relevant(root, str(root / "link.py"))  # the link is in the workspace

    git_repo.write("a.py", "def first():\n    return 1\n")
    git_repo.commit("first")
    config = RagConfig(data_dir=str(tmp_path / "data"))
    with open_workspace_index(root, config, embedder=HashingEmbedder()) as index:
        index.sync()
        watcher = IndexWatcher(root, index.sync, debounce_ms=50)
        watcher.start()
        try:  # a file replaced by a link out of the workspace leaves the index
            (root / "a.py").unlink()
            (root / "a.py").symlink_to(outside)
            assert wait_for(lambda: "a.py" not in index.manifest.docs("workspace"))
        finally:
            watcher.stop()
        payloads = index.store.get_payloads(list(index.store.iter_ids()), ["text"])
        assert not any("OUTSIDE-MARKER" in str(p["text"]) for p in payloads.values())
