"""WorkspaceSource: which files it lists, and which it loads or skips (and why)."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from mochi.rag.sources import WorkspaceSource
from mochi.rag.types import DocKind, SkipCounts

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(repo: Path, *args: str) -> None:
    env = {**os.environ, **GIT_ENV, "HOME": str(repo)}
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


def write(root: Path, key: str, content: str | bytes) -> Path:
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    write(root, ".gitignore", "*.log\nbuild/\n")
    write(root, "src/app.py", "print('hi')\n")
    write(root, "src/.gitignore", "generated_*.py\n!generated_keep.py\n")
    write(root, "src/generated_a.py", "x = 1\n")
    write(root, "src/generated_keep.py", "x = 2\n")
    write(root, "README.md", "# Title\n")
    write(root, "gone.txt", "soon deleted\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    write(root, "notes.txt", "untracked but not ignored\n")
    write(root, "debug.log", "ignored\n")
    write(root, "build/out.py", "ignored\n")
    return root


def test_git_lists_tracked_and_untracked_but_not_ignored(repo: Path) -> None:
    keys = set(WorkspaceSource(repo).fingerprints())
    assert keys == {
        ".gitignore",
        "README.md",
        "gone.txt",
        "notes.txt",
        "src/.gitignore",
        "src/app.py",
        "src/generated_keep.py",
    }


def test_deleted_tracked_file_disappears(repo: Path) -> None:
    (repo / "gone.txt").unlink()
    assert "gone.txt" not in WorkspaceSource(repo).fingerprints()


def test_fingerprint_is_size_and_mtime_and_changes_after_edit(repo: Path) -> None:
    source = WorkspaceSource(repo)
    path = repo / "src/app.py"
    info = path.stat()
    before = source.fingerprints()["src/app.py"]
    assert before == f"{info.st_size}:{info.st_mtime_ns}"
    path.write_text("print('changed')\n", encoding="utf-8")
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))
    assert source.fingerprints()["src/app.py"] != before


def test_subfolder_root_gives_keys_relative_to_it(repo: Path) -> None:
    write(repo, "src/new_untracked.py", "y = 3\n")
    keys = set(WorkspaceSource(repo / "src").fingerprints())
    assert keys == {".gitignore", "app.py", "generated_keep.py", "new_untracked.py"}
    doc = WorkspaceSource(repo / "src").load("app.py", SkipCounts())
    assert doc is not None and doc.text == "print('hi')\n"


def test_extra_ignores_apply_in_git_mode(repo: Path) -> None:
    keys = set(WorkspaceSource(repo, extra_ignores=["*.md", "src/"]).fingerprints())
    assert keys == {".gitignore", "gone.txt", "notes.txt"}


def test_plain_folder_honours_nested_gitignore(tmp_path: Path) -> None:
    write(tmp_path, ".gitignore", "*.log\ncache/\n")
    write(tmp_path, "a.py", "a = 1\n")
    write(tmp_path, "x.log", "no\n")
    write(tmp_path, "cache/c.py", "no\n")
    write(tmp_path, "pkg/.gitignore", "secret_*.txt\n!*.log\n")
    write(tmp_path, "pkg/b.py", "b = 1\n")
    write(tmp_path, "pkg/secret_one.txt", "no\n")
    write(tmp_path, "pkg/kept.log", "negated in the nested .gitignore\n")
    write(tmp_path, "other/secret_two.txt", "the nested rule does not reach here\n")
    write(tmp_path, ".git/config", "not a repository, but never listed\n")
    write(tmp_path, "vendor/v.py", "no\n")
    keys = set(WorkspaceSource(tmp_path, extra_ignores=["vendor/"]).fingerprints())
    assert keys == {
        ".gitignore",
        "a.py",
        "pkg/.gitignore",
        "pkg/b.py",
        "pkg/kept.log",
        "other/secret_two.txt",
    }


def test_symlinks_are_listed_then_skipped_and_non_files_are_not_listed(tmp_path: Path) -> None:
    write(tmp_path, "real/a.py", "a = 1\n")
    (tmp_path / "link").symlink_to(tmp_path / "real", target_is_directory=True)
    (tmp_path / "dangling.py").symlink_to(tmp_path / "missing.py")
    os.mkfifo(tmp_path / "fifo")
    source = WorkspaceSource(tmp_path)
    assert set(source.fingerprints()) == {"real/a.py", "link", "dangling.py"}
    skips = SkipCounts()
    assert source.load("link", skips) is None and source.load("dangling.py", skips) is None
    assert skips.symlink == 2 and skips.total() == 2


def test_load_text_document(repo: Path) -> None:
    doc = WorkspaceSource(repo).load("src/app.py", SkipCounts())
    assert doc is not None
    assert doc.key == "src/app.py"
    assert doc.text == "print('hi')\n"
    assert (doc.kind, doc.language, doc.title) == (DocKind.CODE, "python", "")
    assert doc.content_hash == hashlib.sha256(b"print('hi')\n").hexdigest()
    readme = WorkspaceSource(repo).load("README.md", SkipCounts())
    assert readme is not None and (readme.kind, readme.language) == (DocKind.DOC, "markdown")


def test_bom_is_fine_and_crlf_is_normalised(tmp_path: Path) -> None:
    write(tmp_path, "bom.py", b"\xef\xbb\xbfx = 1\r\ny = 2\r\n")
    skips = SkipCounts()
    doc = WorkspaceSource(tmp_path).load("bom.py", skips)
    assert doc is not None
    assert doc.text == "x = 1\ny = 2\n"
    assert skips.total() == 0


@pytest.mark.parametrize(
    ("key", "content", "reason"),
    [
        ("blob.dat", b"abc\x00def", "binary"),
        ("logo.png", b"\x89PNG\r\n\x1a\nnot checked further", "binary"),
        ("huge.txt", b"a" * 2001, "too_large"),
        ("empty.py", b"", "empty"),
        ("latin.txt", "café déjà vu".encode("latin-1"), "undecodable"),
    ],
)
def test_skipped_files_are_counted(tmp_path: Path, key: str, content: bytes, reason: str) -> None:
    write(tmp_path, key, content)
    skips = SkipCounts()
    assert WorkspaceSource(tmp_path, max_file_bytes=2000).load(key, skips) is None
    assert getattr(skips, reason) == 1
    assert skips.total() == 1
    assert skips.examples[reason] == [key]


def test_vanished_and_bad_keys_are_unreadable(tmp_path: Path) -> None:
    write(tmp_path, "a.py", "a = 1\n")
    skips = SkipCounts()
    source = WorkspaceSource(tmp_path)
    assert source.load("missing.py", skips) is None
    assert source.load("../outside.py", skips) is None
    assert skips.unreadable == 2


def test_fingerprints_of_many_files_do_not_read_contents(tmp_path: Path) -> None:
    for index in range(2000):
        write(tmp_path, f"d{index % 20}/f{index}.py", f"x = {index}\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    keys = WorkspaceSource(tmp_path).fingerprints()
    assert len(keys) == 2000
