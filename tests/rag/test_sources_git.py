"""GitHistorySource: one document per commit, with paths, statuses and a bounded diff."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from mochi.rag.sources import GitHistorySource
from mochi.rag.types import DocKind, Document, SkipCounts

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Ada Tester",
    "GIT_AUTHOR_EMAIL": "ada@example.com",
    "GIT_COMMITTER_NAME": "Ada Tester",
    "GIT_COMMITTER_EMAIL": "ada@example.com",
    "GIT_AUTHOR_DATE": "2024-05-01T12:00:00+00:00",
    "GIT_COMMITTER_DATE": "2024-05-01T12:00:00+00:00",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV, "HOME": str(repo)}
    done = subprocess.run(
        ["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


def commit_all(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def load_all(source: GitHistorySource) -> dict[str, Document]:
    skips = SkipCounts()
    docs = {key: source.load(key, skips) for key in source.fingerprints()}
    assert skips.total() == 0
    return {key: doc for key, doc in docs.items() if doc is not None}


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "calc.py").write_text("def add(a, b):\n    return a + b\n", encoding="utf-8")
    (root / "old_name.txt").write_text("some notes\nthat move\n", encoding="utf-8")
    (root / "scratch.txt").write_text("temporary\n", encoding="utf-8")
    commit_all(root, "Add calculator\n\nFirst version of the calculator.")
    (root / "calc.py").write_text("def add(a, b):\n    return b + a\n", encoding="utf-8")
    commit_all(root, "Swap operands in add")
    (root / "old_name.txt").rename(root / "new_name.txt")
    (root / "scratch.txt").unlink()
    commit_all(root, "Rename notes and drop scratch")
    return root


def test_three_commits_give_three_documents(repo: Path) -> None:
    docs = load_all(GitHistorySource(repo))
    by_subject = {doc.title: doc for doc in docs.values()}
    assert set(by_subject) == {
        "Add calculator",
        "Swap operands in add",
        "Rename notes and drop scratch",
    }
    for key, doc in docs.items():
        assert key.startswith("git:") and len(key) == len("git:") + 40
        assert (doc.kind, doc.language) == (DocKind.COMMIT, "git")
        assert doc.content_hash == hashlib.sha256(doc.text.encode("utf-8")).hexdigest()
        assert "Date: 2024-05-01T12:00:00+00:00" in doc.text
        assert "Author: Ada Tester" in doc.text

    first = by_subject["Add calculator"].text
    assert "First version of the calculator." in first
    assert "A calc.py" in first and "A old_name.txt" in first and "A scratch.txt" in first
    assert "+    return a + b" in first

    second = by_subject["Swap operands in add"].text
    assert "M calc.py" in second
    assert "-    return a + b" in second and "+    return b + a" in second
    assert "def add" not in second.split("Diff:")[1]  # only changed lines

    third = by_subject["Rename notes and drop scratch"].text
    assert "R old_name.txt -> new_name.txt" in third
    assert "D scratch.txt" in third
    assert "-temporary" in third


def test_fingerprint_is_the_sha_and_a_new_commit_adds_one_key(repo: Path) -> None:
    source = GitHistorySource(repo)
    before = source.fingerprints()
    assert all(key == f"git:{sha}" for key, sha in before.items())
    (repo / "calc.py").write_text("def add(a, b):\n    return a + b + 0\n", encoding="utf-8")
    sha = commit_all(repo, "Add zero")
    after = source.fingerprints()
    assert set(after) - set(before) == {f"git:{sha}"}
    assert set(before) <= set(after)


def test_max_commits_keeps_the_newest(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD")
    assert GitHistorySource(repo, max_commits=1).fingerprints() == {f"git:{head}": head}


def test_diff_is_truncated_to_max_diff_chars(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    for index in range(5):
        lines = "".join(f"line {n} of a long file number {index}\n" for n in range(300))
        (tmp_path / f"big{index}.txt").write_text(lines, encoding="utf-8")
    sha = commit_all(tmp_path, "Add big files")
    doc = GitHistorySource(tmp_path, max_diff_chars=1500).load(f"git:{sha}", SkipCounts())
    assert doc is not None
    assert len(doc.text) <= 1500
    assert "[diff truncated]" in doc.text
    for index in range(5):  # every file is listed and gets a share of the diff
        assert f"A big{index}.txt" in doc.text
        assert f"--- big{index}.txt" in doc.text
    untruncated = GitHistorySource(tmp_path, max_diff_chars=10**6).load(f"git:{sha}", SkipCounts())
    assert untruncated is not None and "[diff truncated]" not in untruncated.text


def test_tiny_budget_still_bounds_the_text(repo: Path) -> None:
    for key in GitHistorySource(repo).fingerprints():
        doc = GitHistorySource(repo, max_diff_chars=60).load(key, SkipCounts())
        assert doc is not None and len(doc.text) <= 60


def test_binary_diff_is_noted(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    (tmp_path / "image.bin").write_bytes(bytes(range(256)) * 4)
    sha = commit_all(tmp_path, "Add binary")
    doc = GitHistorySource(tmp_path).load(f"git:{sha}", SkipCounts())
    assert doc is not None
    assert "A image.bin" in doc.text and "(binary file)" in doc.text


def test_merge_commit_diffs_against_first_parent(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "feature.py").write_text("FEATURE = True\n", encoding="utf-8")
    commit_all(repo, "Add feature")
    git(repo, "checkout", "-q", "main")
    (repo / "main.py").write_text("MAIN = True\n", encoding="utf-8")
    commit_all(repo, "Add main")
    git(repo, "merge", "-q", "--no-ff", "-m", "Merge feature", "feature")
    merge = git(repo, "rev-parse", "HEAD")
    doc = GitHistorySource(repo).load(f"git:{merge}", SkipCounts())
    assert doc is not None and doc.title == "Merge feature"
    assert "A feature.py" in doc.text and "+FEATURE = True" in doc.text
    assert "main.py" not in doc.text


def test_empty_repo_and_plain_folder_have_no_commits(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "-q")
    assert GitHistorySource(empty).fingerprints() == {}
    plain = tmp_path / "plain"
    plain.mkdir()
    assert GitHistorySource(plain).fingerprints() == {}


def test_unknown_commit_is_unreadable(repo: Path) -> None:
    skips = SkipCounts()
    assert GitHistorySource(repo).load("git:" + "0" * 40, skips) is None
    assert GitHistorySource(repo).load("not-a-key", skips) is None
    assert skips.unreadable == 2
