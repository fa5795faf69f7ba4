"""Reading a git repository's history with the git CLI: commits, added lines, blobs."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mochi.trainer.evaluation.errors import EvalError

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


@dataclass(frozen=True, slots=True)
class Commit:
    sha: str
    time: int  # committer time, unix seconds
    subject: str


def git(repo: Path, *args: str, stdin: bytes | None = None) -> bytes:
    done = subprocess.run(
        ["git", "-c", "core.quotePath=false", *args],
        cwd=repo,
        input=stdin,
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise EvalError(f"git {' '.join(args[:2])} failed in {repo}: {' '.join(message[-1:])}")
    return done.stdout


def require_repository(repo: Path) -> Path:
    """The repository's top folder; EvalError when `repo` is not inside a git work tree."""
    if not repo.is_dir():
        raise EvalError(f"{repo} is not a folder")
    try:
        top = git(repo, "rev-parse", "--show-toplevel").decode().strip()
    except EvalError:
        raise EvalError(f"{repo} is not a git repository") from None
    return Path(top)


def resolve_commit(repo: Path, rev: str) -> str:
    """The full sha of `rev`; EvalError when it names no commit."""
    try:
        return git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").decode().strip()
    except EvalError:
        raise EvalError(f"unknown commit {rev!r} in {repo}") from None


def commits_between(repo: Path, since: str, until: str) -> list[Commit]:
    """Non-merge commits reachable from `until` but not from `since`, oldest first."""
    out = git(
        repo, "log", "--reverse", "--no-merges", "--format=%H%x00%ct%x00%s", f"{since}..{until}"
    )
    commits = []
    for line in out.decode("utf-8", "replace").splitlines():
        sha, time, subject = line.split("\x00", 2)
        commits.append(Commit(sha, int(time), subject))
    return commits


def parse_added_lines(diff: str) -> dict[str, list[int]]:
    """New-side line numbers (1-based) of the lines a unified diff adds, per new path."""
    added: dict[str, list[int]] = {}
    path: str | None = None
    line = 0
    for row in diff.split("\n"):
        if row.startswith("+++ "):
            target = row[4:].rstrip("\t")
            path = target[2:] if target.startswith("b/") else None
            continue
        if row.startswith("--- ") or row.startswith("diff --git"):
            continue
        hunk = _HUNK.match(row)
        if hunk:
            line = int(hunk.group(1))
            continue
        if path is None:
            continue
        if row.startswith("+"):
            added.setdefault(path, []).append(line)
            line += 1
        elif row.startswith(" "):
            line += 1
    return added


def added_lines(repo: Path, commit: str) -> dict[str, list[int]]:
    """The lines `commit` adds or modifies (diff against its first parent), per file."""
    diff = git(
        repo,
        "show",
        "--format=",
        "--unified=0",
        "--no-color",
        "--no-ext-diff",
        "-M",
        "--first-parent",
        commit,
    )
    return parse_added_lines(diff.decode("utf-8", "replace"))


def list_files(repo: Path, commit: str) -> list[str]:
    out = git(repo, "ls-tree", "-r", "-z", "--name-only", commit)
    return [p for p in out.decode("utf-8", "replace").split("\x00") if p]


def read_blobs(repo: Path, commit: str, paths: Sequence[str]) -> dict[str, bytes]:
    """The contents of `paths` at `commit`, read by one `git cat-file --batch`."""
    if not paths:
        return {}
    request = "".join(f"{commit}:{p}\n" for p in paths).encode()
    out = git(repo, "cat-file", "--batch", stdin=request)
    blobs: dict[str, bytes] = {}
    pos = 0
    for path in paths:
        end = out.index(b"\n", pos)
        header = out[pos:end].split()
        pos = end + 1
        if len(header) < 3 or header[1] != b"blob":  # "<obj> missing" or not a file
            continue
        size = int(header[2])
        blobs[path] = out[pos : pos + size]
        pos += size + 1
    return blobs


def decode_text(data: bytes) -> str | None:
    """UTF-8 text, or None for binary or undecodable content."""
    if b"\x00" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None
