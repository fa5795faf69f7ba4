"""`mochi hooks install`: a post-commit hook that never delays or fails a commit."""

from __future__ import annotations

import os
import stat
import subprocess
import time
from pathlib import Path

from git_repo import GitRepo

from mochi.server.cli.hooks_cmd import CHAINED, MARKER, install, uninstall
from mochi.server.cli.main import main


def hook_of(repo: GitRepo) -> Path:
    return repo.root / ".git" / "hooks" / "post-commit"


def test_install_is_idempotent_and_executable(git_repo: GitRepo) -> None:
    assert main(["hooks", "install", "--path", str(git_repo.root)]) == 0
    hook = hook_of(git_repo)
    first = hook.read_text()
    assert MARKER in first and "trainer submit continual" in first
    assert hook.stat().st_mode & stat.S_IXUSR
    assert main(["hooks", "install", "--path", str(git_repo.root)]) == 0
    assert hook.read_text() == first
    assert not (hook.parent / CHAINED).exists()
    assert main(["hooks", "uninstall", "--path", str(git_repo.root)]) == 0
    assert not hook.exists()


def test_an_existing_hook_is_kept_and_still_runs(git_repo: GitRepo, tmp_path: Path) -> None:
    hook = hook_of(git_repo)
    hook.parent.mkdir(parents=True, exist_ok=True)
    ran = tmp_path / "ran"
    hook.write_text(f"#!/bin/sh\necho yes >> {ran}\n")
    hook.chmod(0o755)
    install(git_repo.root, mochi="/bin/false")
    install(git_repo.root, mochi="/bin/false")  # twice: the old hook is not chained twice
    assert (hook.parent / CHAINED).read_text().startswith("#!/bin/sh\necho yes")
    git_repo.write("a.py", "x = 1\n")
    git_repo.commit("first")
    assert ran.read_text() == "yes\n"
    assert uninstall(git_repo.root)
    assert hook.read_text().startswith("#!/bin/sh\necho yes")  # restored


def test_a_commit_with_the_hook_succeeds_fast_when_no_daemon_runs(
    git_repo: GitRepo, tmp_path: Path, data_dir: Path
) -> None:
    # the real `mochi` of this venv, pointed at a port where nothing listens
    install(git_repo.root)
    env = {**os.environ, "MOCHI_TRAINER_URL": "http://127.0.0.1:9", "XDG_DATA_HOME": str(data_dir)}
    git_repo.write("a.py", "def f():\n    return 1\n")
    git_repo.git("add", "-A")
    started = time.monotonic()
    done = subprocess.run(
        ["git", "commit", "-q", "-m", "with hook"],
        cwd=git_repo.root,
        env={
            **env,
            "GIT_AUTHOR_NAME": "T",
            "GIT_AUTHOR_EMAIL": "t@e",
            "GIT_COMMITTER_NAME": "T",
            "GIT_COMMITTER_EMAIL": "t@e",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 5  # the submission runs in the background
    assert git_repo.git("log", "--format=%s").strip() == "with hook"
