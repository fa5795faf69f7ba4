"""The repository as of the cut, checked out in a detached git worktree for the index and
the training data; removed (with `git worktree prune`) when the run ends."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mochi.trainer.evaluation.errors import EvalError
from mochi.trainer.evaluation.git_history import git


def _remove(repo: Path, folder: Path) -> None:
    try:
        git(repo, "worktree", "remove", "--force", str(folder))
    except EvalError:
        shutil.rmtree(folder, ignore_errors=True)
    git(repo, "worktree", "prune")


@contextmanager
def worktree_at(repo: Path, commit: str, folder: Path) -> Iterator[Path]:
    """`folder` holds `commit` while the block runs (a stale one from a crash is replaced)."""
    if folder.exists():
        _remove(repo, folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    git(repo, "worktree", "add", "--detach", "--force", str(folder), commit)
    try:
        yield folder
    finally:
        _remove(repo, folder)
