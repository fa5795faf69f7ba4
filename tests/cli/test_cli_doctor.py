"""`mochi doctor` catches what would break later: a generation model that is not there,
and a training daemon that does not answer or refuses the token (a real daemon app on
real HTTP; `mochi doctor` as a real process)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from git_repo import GitRepo
from live_daemon import serve_daemon
from ports import free_port

pytestmark = [pytest.mark.slow]


def doctor(root: Path, config: str, xdg: Path) -> subprocess.CompletedProcess[str]:
    (root / ".mochi.toml").write_text(config)
    env = {**os.environ, "XDG_DATA_HOME": str(xdg), "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "mochi.server.cli.main", "doctor", str(root)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


def line_of(output: str, check: str) -> str:
    return next(line for line in output.splitlines() if f" {check}:" in line)


def test_a_model_name_that_does_not_exist_fails(
    git_repo: GitRepo, tmp_path: Path, tiny_model_dir: Path
) -> None:
    missing = doctor(git_repo.root, '[model]\nname = "no-such-model"\n', tmp_path / "xdg")
    assert missing.returncode == 1, missing.stdout
    line = line_of(missing.stdout, "generation model")
    assert line.startswith("!!") and "'no-such-model'" in line
    assert "mochi models list" in missing.stdout

    folder = doctor(git_repo.root, f'[model]\nname = "{tiny_model_dir}"\n', tmp_path / "xdg")
    assert folder.returncode == 0, folder.stdout
    assert line_of(folder.stdout, "generation model").startswith("ok ")


def test_the_training_daemon_must_answer_and_accept_the_token(
    git_repo: GitRepo, tmp_path: Path
) -> None:
    xdg = tmp_path / "xdg"
    with serve_daemon(tmp_path / "daemon") as daemon:
        trainer = f'[trainer]\nurl = "{daemon.url}"\n'
        good = doctor(git_repo.root, trainer + f'token = "{daemon.token}"\n', xdg)
        assert good.returncode == 0, good.stdout
        assert line_of(good.stdout, "training daemon").startswith("ok ")

        wrong = doctor(git_repo.root, trainer + 'token = "not-the-token"\n', xdg)
        assert wrong.returncode == 1, wrong.stdout
        line = line_of(wrong.stdout, "training daemon")
        assert line.startswith("!!") and "refused the token" in line

    closed = f'[trainer]\nurl = "http://127.0.0.1:{free_port()}"\n'
    down = doctor(git_repo.root, closed, xdg)
    assert down.returncode == 1, down.stdout
    assert "is not reachable" in line_of(down.stdout, "training daemon")
