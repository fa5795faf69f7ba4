"""Commits reachable from HEAD: message, changed paths and a bounded diff summary."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import git

from mochi.rag.file_names import display_name
from mochi.rag.types import DocKind, Document, SkipCounts

KEY_PREFIX = "git:"
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # git's well-known empty tree
TRUNCATED = "[diff truncated]"
_MIN_FILE_BUDGET = 120  # chars a file's diff gets at least while any budget is left


@dataclass(slots=True)
class FileChange:
    """One changed path of a commit and its added (+) and removed (-) lines."""

    status: str  # A, M, D, R, C or T
    path: str
    old_path: str = ""  # renames and copies
    binary: bool = False
    lines: list[str] = field(default_factory=list)
    hidden: bool = False  # a secret file (by name): its lines are never shown

    @property
    def label(self) -> str:
        return f"{self.old_path} -> {self.path}" if self.old_path else self.path


class GitHistorySource:
    """The last `max_commits` commits reachable from HEAD, keyed `git:<sha>`.

    A commit never changes, so its fingerprint is its sha: the indexer only loads
    commits it has not seen.
    """

    name = "git"

    def __init__(
        self,
        root: Path,
        *,
        max_commits: int = 1000,
        max_diff_chars: int = 4000,
        hidden: Callable[[str], bool] = lambda _path: False,
    ) -> None:
        if max_commits < 0:
            raise ValueError(f"max_commits must be >= 0, got {max_commits}")
        if max_diff_chars <= 0:
            raise ValueError(f"max_diff_chars must be positive, got {max_diff_chars}")
        self._root = Path(root)
        self._max_commits = max_commits
        self._max_diff_chars = max_diff_chars
        self._hidden = hidden

    def fingerprints(self) -> dict[str, str]:
        repo = self._repo()
        if repo is None or self._max_commits == 0 or not repo.head.is_valid():
            return {}
        try:
            output = repo.git.rev_list(f"--max-count={self._max_commits}", "HEAD")
        except git.GitCommandError:
            return {}
        return {f"{KEY_PREFIX}{sha}": sha for sha in output.split()}

    def load(self, key: str, skips: SkipCounts) -> Document | None:
        repo = self._repo()
        if repo is None or not key.startswith(KEY_PREFIX):
            skips.add("unreadable", key)
            return None
        try:
            commit = repo.commit(key[len(KEY_PREFIX) :])
            changes = _changes(repo, commit)
        except (git.BadName, git.GitCommandError, ValueError):
            skips.add("unreadable", key)
            return None
        for change in changes:
            if self._hidden(change.path) or (change.old_path and self._hidden(change.old_path)):
                change.hidden, change.lines = True, []
        text = _commit_text(commit, changes, self._max_diff_chars)
        return Document(
            key=key,
            text=text,
            kind=DocKind.COMMIT,
            language="git",
            content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
            title=_str(commit.summary),
        )

    def _repo(self) -> git.Repo | None:
        try:
            return git.Repo(self._root, search_parent_directories=True)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            return None


def _changes(repo: git.Repo, commit: git.Commit) -> list[FileChange]:
    """Changes against the first parent (the empty tree for a root commit)."""
    base = commit.parents[0].hexsha if commit.parents else EMPTY_TREE
    options = ["-r", "-M", "--no-color", "--no-ext-diff", "--no-textconv"]
    raw = repo.git.diff_tree(*options, "-z", "--name-status", base, commit.hexsha)
    changes = _parse_name_status(raw)
    patch = repo.git.diff_tree(*options, "-p", "-U0", base, commit.hexsha, stdout_as_string=False)
    sections = _split_patch(bytes(patch).decode("utf-8", errors="replace"))
    if len(sections) == len(changes):  # same options, so the same files in order
        for change, section in zip(changes, sections, strict=True):
            change.binary, change.lines = _diff_lines(section)
    return changes


def _parse_name_status(raw: str) -> list[FileChange]:
    """The changes `diff-tree -z --name-status` lists; paths as text to show (U+FFFD for
    a byte of a name that is not UTF-8: the commit's text is stored and embedded)."""
    fields = [display_name(field) for field in raw.split("\0")]
    changes: list[FileChange] = []
    index = 0
    while index < len(fields) and fields[index]:
        status = fields[index][0]
        if status in "RC":
            old, new = fields[index + 1], fields[index + 2]
            changes.append(FileChange(status=status, path=new, old_path=old))
            index += 3
        else:
            changes.append(FileChange(status=status, path=fields[index + 1]))
            index += 2
    return changes


def _split_patch(patch: str) -> list[list[str]]:
    sections: list[list[str]] = []
    for line in patch.splitlines():
        if line.startswith("diff --git "):
            sections.append([])
        elif sections:
            sections[-1].append(line)
    return sections


def _diff_lines(section: list[str]) -> tuple[bool, list[str]]:
    """(binary?, the +/- lines) of one file's patch section."""
    in_hunks = False
    lines: list[str] = []
    for line in section:
        if line.startswith("@@"):
            in_hunks = True
        elif not in_hunks:
            if line.startswith(("Binary files ", "GIT binary patch")):
                return True, []
        elif line.startswith(("+", "-")):
            lines.append(line)
    return False, lines


def _commit_text(commit: git.Commit, changes: list[FileChange], max_chars: int) -> str:
    message = _str(commit.message).strip()
    header = (
        f"{message}\n\n"
        f"Author: {commit.author.name or ''}\n"
        f"Date: {commit.authored_datetime.isoformat()}\n"
    )
    files = "\nChanged files:\n" + "".join(f"{c.status} {c.label}\n" for c in changes)
    text = header + files
    if len(text) > max_chars:
        return _cut(text, max_chars)
    return text + _diff_summary(changes, max_chars - len(text))


def _diff_summary(changes: list[FileChange], budget: int) -> str:
    """Per-file +/- lines; each file gets a fair share of what is left of `budget`."""
    title = "\nDiff:\n"
    if budget < len(title) + len(TRUNCATED) + 1 or not changes:
        return ""
    budget -= len(title) + len(TRUNCATED) + 1  # keep room for the truncation mark
    parts: list[str] = []
    truncated = False
    for position, change in enumerate(changes):
        share = max(budget // (len(changes) - position), _MIN_FILE_BUDGET)
        block, cut = _file_block(change, min(share, budget))
        truncated = truncated or cut
        parts.append(block)
        budget -= len(block)
        if budget <= 0:
            truncated = truncated or position < len(changes) - 1
            break
    summary = title + "".join(parts)
    return summary + TRUNCATED + "\n" if truncated else summary


def _file_block(change: FileChange, budget: int) -> tuple[str, bool]:
    """One file's diff within `budget` chars, and whether something was left out."""
    head = f"--- {change.label}\n"
    body = ["(binary file)\n"] if change.binary else [line + "\n" for line in change.lines]
    body = ["(secret file: diff not shown)\n"] if change.hidden else body
    if len(head) > budget:
        return "", True
    block = head
    for line in body:
        if len(block) + len(line) > budget:
            room = budget - len(block) - 1
            if room > 20:  # a useful start of a long line
                block += line[:room] + "\n"
            return block, True
        block += line
    return block, False


def _cut(text: str, max_chars: int) -> str:
    mark = "\n" + TRUNCATED
    if max_chars <= len(mark):
        return text[:max_chars]
    return text[: max_chars - len(mark)] + mark


def _str(value: str | bytes) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value
