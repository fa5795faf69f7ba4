"""The git repository a dataset is built from: trees (working tree or a commit's git
objects, never a checkout), commits, patches and changed lines.

Paths are handed out as text to show: a byte of a name that is not UTF-8 is U+FFFD
(samples are JSON and prompts); the raw name is kept for lookups in git objects.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import git

from mochi.rag.file_names import display_name
from mochi.rag.languages import classify
from mochi.rag.secrets import SecretFilter
from mochi.rag.sources.git_history import EMPTY_TREE
from mochi.rag.sources.workspace import BINARY_EXTENSIONS, SNIFF_BYTES, WorkspaceSource
from mochi.rag.types import DocKind, SkipCounts
from mochi.trainer.datasets.errors import DatasetError

MAX_FILE_BYTES = 1_000_000
_DIFF_OPTIONS = ("-M", "--no-color", "--no-ext-diff", "--no-textconv")
_RAW_PATHS = "core.quotePath=false"  # paths in diffs as they are, not quoted in octal
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")
_DIFF_HEADER = re.compile(r"^diff --git a/(.*) b/(.*)$")


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One code file of a tree: repo-relative POSIX path (relative to the root)."""

    path: str
    text: str
    language: str


@dataclass(frozen=True, slots=True)
class CommitInfo:
    sha: str
    message: str
    time: int  # committer time, unix seconds
    parent: str  # first parent's sha, "" for a root commit


@dataclass(slots=True)
class FilePatch:
    """One file's section of a commit's patch (unified diff text, header included)."""

    path: str
    old_path: str
    text: str
    lines: list[str] = field(default_factory=list)


class Repository:
    """A git repository seen from `root` (its top or a folder inside it)."""

    def __init__(self, root: Path) -> None:
        root = Path(root).expanduser().resolve()
        if not root.is_dir():
            raise DatasetError(f"{root} is not a folder")
        try:
            self._repo = git.Repo(root, search_parent_directories=True)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            raise DatasetError(
                f"{root} is not inside a git repository: datasets are built from git "
                "(run `git init` and commit the code first)"
            ) from None
        if self._repo.bare or self._repo.working_tree_dir is None:
            raise DatasetError(f"{root} is a bare git repository: it has no working tree")
        top = Path(self._repo.working_tree_dir).resolve()
        relative = root.relative_to(top).as_posix()
        self.root = root
        self._prefix = "" if relative == "." else relative + "/"
        self._raw_names: dict[str, str] = {}  # shown path -> root-relative name in git

    # commits
    def resolve(self, ref: str) -> CommitInfo:
        """The commit `ref` names (sha, branch, tag, HEAD~2, ...)."""
        try:
            commit = self._repo.commit(ref)
        except (git.BadName, git.BadObject, ValueError, git.GitCommandError):
            raise DatasetError(f"unknown commit {ref!r} in {self.root}") from None
        return _info(commit)

    def head(self) -> CommitInfo | None:
        """HEAD's commit, or None in a repository without commits."""
        if not self._repo.head.is_valid():
            return None
        return _info(self._repo.head.commit)

    def is_ancestor(self, older: str, newer: str) -> bool:
        repo = self._repo
        return bool(repo.is_ancestor(repo.commit(older), repo.commit(newer)))

    def commits(self, rev: str, max_count: int) -> list[CommitInfo]:
        """Non-merge commits of `rev` (a ref or an ``a..b`` range), newest first."""
        if max_count <= 0:
            return []
        try:
            found = self._repo.iter_commits(rev, max_count=max_count, no_merges=True)
            return [_info(c) for c in found]
        except (git.GitCommandError, ValueError):
            raise DatasetError(f"cannot list the commits of {rev!r} in {self.root}") from None

    def patch(self, commit: CommitInfo, context_lines: int = 3) -> list[FilePatch]:
        """The commit's changes against its first parent, one section per file."""
        base = commit.parent or EMPTY_TREE
        raw = self._repo.git(c=_RAW_PATHS).diff_tree(
            "-r", "-p", f"-U{context_lines}", *_DIFF_OPTIONS, base, commit.sha,
            stdout_as_string=False,
        )  # fmt: skip
        text = bytes(raw).decode("utf-8", errors="replace")
        patches: list[FilePatch] = []
        for line in text.splitlines():
            header = _DIFF_HEADER.match(line)
            if header is not None:
                old, new = (self._relative(p) for p in header.groups())
                if old is None and new is None:
                    patches.append(FilePatch("", "", ""))  # outside the root: dropped below
                else:
                    patches.append(FilePatch(new or old or "", old or "", ""))
            if patches:
                patches[-1].lines.append(line)
        for item in patches:
            item.text = "\n".join(item.lines) + "\n"
        return [p for p in patches if p.path]

    # trees
    def files(
        self, commit: CommitInfo | None, secrets: SecretFilter, skips: SkipCounts
    ) -> list[SourceFile]:
        """The code files of the working tree (commit None) or of a commit's tree, by path;
        secret files, binaries, big and undecodable files are counted in `skips`."""
        found = self._tree_files(commit, skips) if commit else self._worktree_files(skips)
        kept: list[SourceFile] = []
        for path, text in sorted(found, key=lambda item: item[0]):
            if secrets.is_secret_path(path):
                skips.add("secret_file", path)
                continue
            language, kind = classify(path)
            if kind is DocKind.CODE and text.strip():
                kept.append(SourceFile(path, text, language))
        return kept

    def file_at(self, commit: CommitInfo, path: str) -> str | None:
        """The text of `path` (root-relative) in `commit`'s tree, or None."""
        try:
            name = self._raw_names.get(path, path)
            blob = self._repo.commit(commit.sha).tree / (self._prefix + name)
        except KeyError:
            return None
        if blob.type != "blob":
            return None
        return _decode(blob.data_stream.read(), path)

    def changed_lines(self, base: str, target: CommitInfo | None) -> dict[str, set[int]]:
        """Lines (1-based, in the target's version) that differ from `base` (a sha or
        the empty tree), by path.

        target None is the working tree, where untracked files count as all new.
        A pure deletion marks the lines around where the text was.
        """
        args = ["-U0", *_DIFF_OPTIONS, base]
        if target is not None:
            args.append(target.sha)
        raw = self._repo.git(c=_RAW_PATHS).diff(*args, stdout_as_string=False)
        changed: dict[str, set[int]] = {}
        current: set[int] | None = None
        for line in bytes(raw).decode("utf-8", errors="surrogateescape").splitlines():
            if line.startswith("+++ "):
                name = line[4:]
                path = self._shown(name[2:]) if name.startswith("b/") else None
                current = changed.setdefault(path, set()) if path is not None else None
                continue
            hunk = _HUNK.match(line)
            if hunk is None or current is None:
                continue
            start, count = int(hunk.group(1)), int(hunk.group(2) or "1")
            if count == 0:
                current.update({start, start + 1})
            else:
                current.update(range(start, start + count))
        if target is None:
            output = self._repo.git.ls_files("-z", "--others", "--exclude-standard")
            for name in output.split("\0"):
                path = self._shown(name) if name else None
                if path is not None:
                    changed[path] = set(range(1, 1_000_000))
        return changed

    def _worktree_files(self, skips: SkipCounts) -> Iterator[tuple[str, str]]:
        source = WorkspaceSource(self.root, max_file_bytes=MAX_FILE_BYTES)
        for key in source.fingerprints():
            if classify(key)[1] is not DocKind.CODE:
                continue
            doc = source.load(key, skips)
            if doc is not None:
                yield self._show(key), doc.text

    def _tree_files(self, commit: CommitInfo, skips: SkipCounts) -> Iterator[tuple[str, str]]:
        tree = self._repo.commit(commit.sha).tree
        for item in tree.traverse():
            if not isinstance(item, git.Blob) or item.mode == 0o120000:  # symlinks
                continue
            path = self._shown(str(item.path))
            if path is None or classify(path)[1] is not DocKind.CODE:
                continue
            if Path(path).suffix.lower() in BINARY_EXTENSIONS:
                skips.add("binary", path)
                continue
            if item.size > MAX_FILE_BYTES:
                skips.add("too_large", path)
                continue
            text = _decode(item.data_stream.read(), path, skips)
            if text is not None:
                yield path, text

    def _shown(self, repo_path: str) -> str | None:
        """`_relative`, as text to show."""
        path = self._relative(repo_path)
        return None if path is None else self._show(path)

    def _show(self, path: str) -> str:
        """A root-relative name as text to show; the name itself is kept for `file_at`."""
        shown = display_name(path)
        self._raw_names[shown] = path
        return shown

    def _relative(self, repo_path: str) -> str | None:
        """A repo-relative path as a root-relative one, None when outside the root."""
        if not repo_path.startswith(self._prefix):
            return None
        return repo_path[len(self._prefix) :]


def _info(commit: git.Commit) -> CommitInfo:
    message = commit.message
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    parent = commit.parents[0].hexsha if commit.parents else ""
    return CommitInfo(commit.hexsha, text.strip(), int(commit.committed_date), parent)


def _decode(data: bytes, path: str, skips: SkipCounts | None = None) -> str | None:
    if b"\x00" in data[:SNIFF_BYTES]:
        if skips is not None:
            skips.add("binary", path)
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        if skips is not None:
            skips.add("undecodable", path)
        return None
    return text.replace("\r\n", "\n")
