"""A file whose name is not valid UTF-8 (b"caf\\xe9.py") in the tree and in history:
datasets are built and saved, and the name shows U+FFFD for the undecodable byte."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from git_repo import GitRepo

from mochi.trainer.datasets import BuiltDataset, DatasetSpec, build_dataset, save_dataset
from mochi.trainer.datasets.storage import load_dataset

NAME = os.fsdecode(b"caf\xe9.py")
SHOWN = "caf\ufffd.py"
FIRST = '''def cafe_area(radius):
    """Area of the cafe's round table."""
    total = radius * radius
    total = total * 3
    return total
'''
SECOND = """

def cafe_seats(tables):
    count = tables * 4
    count = count + 2
    return count
"""


@pytest.fixture
def repo(git_repo: GitRepo) -> tuple[GitRepo, str, str]:
    git_repo.write("plain.py", "def plain(x):\n    y = x + 1\n    return y * 2\n")
    git_repo.write(NAME, FIRST)
    first = git_repo.commit("Add the cafe module")
    git_repo.write(NAME, FIRST + SECOND)
    second = git_repo.commit("Count the cafe seats")
    return git_repo, first, second


def build(root: Path, changed_since: str | None = None, **options: object) -> BuiltDataset:
    spec = DatasetSpec(**{"eval_fraction": 0.0, "samples_per_unit": 4, **options})  # type: ignore[arg-type]
    return build_dataset(
        root, spec, fim_template="qwen", eos="<eos>", count_tokens=lambda t: len(t.split()),
        changed_since=changed_since,
    )  # fmt: skip


def test_tree_and_history_samples_show_the_name(
    repo: tuple[GitRepo, str, str], tmp_path: Path
) -> None:
    git_repo, _, second = repo
    built = build(git_repo.root)
    code = [s for s in built.train if s.kind.startswith("fim")]
    assert SHOWN in {s.path for s in code}
    assert any(f"# {SHOWN}" in s.prompt for s in code if s.path == SHOWN)
    history = [s for s in built.train if s.kind == "commit-to-diff" and s.commit == second]
    assert len(history) == 1 and SHOWN in history[0].completion
    assert "+def cafe_seats(tables):" in history[0].completion
    folder = save_dataset(tmp_path / "dataset", built)
    again = load_dataset(folder)
    assert [s.path for s in again.train] == [s.path for s in built.train]


def test_continual_and_time_split_find_the_changed_lines(repo: tuple[GitRepo, str, str]) -> None:
    git_repo, first, _ = repo
    changed = build(git_repo.root, changed_since=first, commit_pairs=False, fim_rate=1.0)
    assert {s.path for s in changed.train} == {SHOWN}
    assert all("cafe_seats" in s.prompt + s.completion for s in changed.train)

    timed = build(git_repo.root, split="time", split_commit=first, fim_rate=1.0)
    assert timed.eval and {s.path for s in timed.eval} == {SHOWN}
