"""`mochi check` as users run it: a real process, a real git repository, the tiny random
Llama as the model. Naming findings are exact whatever the model, so they carry the
assertions; the norms are learnt once and then read from their cache."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from git_repo import GitRepo
from mochi_cli import mochi

pytestmark = pytest.mark.slow

MODULE = '''"""Orders {i}."""

MAX_ITEMS = 10


def load_order(path):
    order_text = path.read_text()
    return order_text


class OrderBook:
    def add_order(self, order):
        self.orders.append(order)
'''


@pytest.fixture
def workspace(tmp_path: Path, tiny_model_dir: Path) -> tuple[GitRepo, dict[str, str]]:
    repo = GitRepo.create(tmp_path / "ws")
    for i in range(10):  # enough for the names the tests add not to tip the balance
        repo.write(f"pkg/orders_{i}.py", MODULE.format(i=i))
    repo.write(
        ".mochi.toml",
        f'[model]\nname = "{tiny_model_dir}"\ndtype = "float32"\n'
        "[diagnostics]\ncalibration_files = 3\n",
    )
    repo.commit("orders")
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1"}
    return repo, env


def test_findings_are_printed_as_path_line_col_and_exit_1(
    workspace: tuple[GitRepo, dict[str, str]],
) -> None:
    repo, env = workspace
    bad = repo.write("pkg/new.py", "def loadOrder(path):\n    return path\n")
    clean = repo.write("pkg/fine.py", "def save_order(path):\n    return path\n")

    found = mochi("check", str(bad), "-w", str(repo.root), "--no-suggest", env=env)
    assert found.returncode == 1, found.stderr
    lines = found.stdout.strip().split("\n")
    assert lines[0].startswith("pkg/new.py:1:5: naming: `loadOrder`"), found.stdout
    assert "`load_order`" in lines[0]
    assert "norms from" in found.stderr  # progress goes to stderr, findings to stdout
    cached = list((Path(env["XDG_DATA_HOME"]) / "mochi" / "indexes").glob("*/conventions/*.json"))
    assert len(cached) == 1

    ok = mochi("check", str(clean), "-w", str(repo.root), "--kind", "naming", "--json", env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert json.loads(ok.stdout) == []
    assert len(list(cached[0].parent.glob("*.json"))) == 1  # the same norms, from the cache


def test_a_diff_is_checked_on_its_added_lines(workspace: tuple[GitRepo, dict[str, str]]) -> None:
    repo, env = workspace
    repo.write("pkg/old.py", "def oldName():\n    pass\n")
    repo.commit("old code")
    repo.write("pkg/old.py", "def oldName():\n    pass\n\n\ndef newName():\n    pass\n")
    diff = repo.git("diff")
    (repo.root / "change.diff").write_text(diff, encoding="utf-8")
    done = mochi(
        "check",
        "--diff",
        str(repo.root / "change.diff"),
        "-w",
        str(repo.root),
        "--json",
        "--no-suggest",
        env=env,
    )
    assert done.returncode == 1, done.stderr
    naming = [f for f in json.loads(done.stdout) if f["kind"] == "naming"]
    assert [(f["path"], f["line"], f["suggestion"]) for f in naming] == [
        ("pkg/old.py", 4, "new_name")
    ]


def test_without_files_or_diff_it_says_what_to_give(
    workspace: tuple[GitRepo, dict[str, str]],
) -> None:
    repo, env = workspace
    done = mochi("check", "-w", str(repo.root), env=env)
    assert done.returncode == 2 and "--diff" in done.stderr
