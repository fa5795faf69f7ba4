"""kill -9 an indexing process at several points; the next start repairs and converges.

Every scenario ends with the invariant store = manifest = files.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from consistency import assert_consistent
from git_repo import GitRepo
from hashing_embedder import HashingEmbedder

from mochi.rag.config import RagConfig
from mochi.rag.index import open_workspace_index

WORKER = Path(__file__).parents[1] / "support" / "crash_worker.py"
# A first index only adds points; an update also rewrites payloads and deletes.
# Both end with the density pass (once per sync: killed at its first call).
FIRST_INDEX_POINTS = ["after_begin", "after_upsert", "in_commit", "in_density"]
UPDATE_POINTS = [
    "after_begin",
    "after_upsert",
    "after_payloads",
    "after_delete",
    "in_commit",
    "in_density",
]


def make_repo(repo: GitRepo, files: int = 24) -> set[str]:
    for i in range(files):
        repo.write(
            f"src/mod{i}.py",
            f"import os\n\n\ndef load_{i}(path):\n    return open(path).read() + '{i}'\n\n\n"
            f"class Thing{i}:\n    def size(self):\n        return {i}\n",
        )
    repo.commit("initial")
    return {f"src/mod{i}.py" for i in range(files)}


def edit_repo(repo: GitRepo) -> set[str]:
    """Edits, a rename (moved lines -> payload rewrites) and deletes, for the update path."""
    for i in range(0, 24, 3):
        (repo.root / f"src/mod{i}.py").unlink()
    for i in range(1, 24, 3):
        text = (repo.root / f"src/mod{i}.py").read_text()
        (repo.root / f"src/mod{i}.py").write_text("# header\n# more\n" + text.replace("+", "-"))
    repo.git("mv", "src/mod2.py", "src/renamed2.py")
    return {p.relative_to(repo.root).as_posix() for p in (repo.root / "src").glob("*.py")}


def run_worker(root: Path, data: Path, point: str, nth: int, slow_ms: int = 0) -> int:
    done = subprocess.run(
        [sys.executable, str(WORKER), str(root), str(data), point, str(nth), str(slow_ms)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.returncode


def reopen_and_check(root: Path, data: Path, expected: set[str]) -> None:
    config = RagConfig(data_dir=str(data))
    with open_workspace_index(root, config, embedder=HashingEmbedder()) as index:
        index.sync()
        assert_consistent(index, root, expected)


@pytest.mark.slow
@pytest.mark.parametrize("point", FIRST_INDEX_POINTS)
def test_kill_during_first_index(git_repo: GitRepo, tmp_path: Path, point: str) -> None:
    expected = make_repo(git_repo)
    data = tmp_path / "data"
    code = run_worker(git_repo.root, data, point, nth=1 if point == "in_density" else 3)
    assert code == -signal.SIGKILL
    reopen_and_check(git_repo.root, data, expected)


@pytest.mark.slow
@pytest.mark.parametrize("point", UPDATE_POINTS)
def test_kill_during_incremental_update(git_repo: GitRepo, tmp_path: Path, point: str) -> None:
    make_repo(git_repo)
    data = tmp_path / "data"
    assert run_worker(git_repo.root, data, "never", 0) == 0
    expected = edit_repo(git_repo)
    code = run_worker(git_repo.root, data, point, nth=1 if point == "in_density" else 2)
    assert code == -signal.SIGKILL
    reopen_and_check(git_repo.root, data, expected)


@pytest.mark.slow
def test_kill_at_random_moments(git_repo: GitRepo, tmp_path: Path) -> None:
    expected = make_repo(git_repo, files=40)
    data = tmp_path / "data"
    rng = random.Random(7)
    for _ in range(3):
        proc = subprocess.Popen(
            [sys.executable, str(WORKER), str(git_repo.root), str(data), "never", "0", "15"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        time.sleep(rng.uniform(2.5, 4.5))  # past start-up, inside the sync
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    reopen_and_check(git_repo.root, data, expected)
