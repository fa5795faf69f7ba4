"""Plain data types shared by every stage of the index pipeline."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from mochi.rag.file_names import display_name


class DocKind(StrEnum):
    """What a document is; decides how it is chunked."""

    CODE = "code"
    DOC = "doc"  # Markdown, reStructuredText, AsciiDoc, PDF text
    COMMIT = "commit"  # a git commit: message, changed paths, bounded diff summary
    TEXT = "text"  # anything else that decodes as text


@dataclass(frozen=True, slots=True)
class Document:
    """One unit of source material, before chunking.

    `key` is unique within a workspace index: the POSIX path relative to the
    workspace root for files, `git:<sha>` for commits.
    """

    key: str
    text: str
    kind: DocKind
    language: str  # "python", "markdown", "pdf", "git", "text", ...
    content_hash: str  # hash of the raw bytes (files) or of the text (commits)
    title: str = ""  # commit subject, PDF title, ... ("" when none)


@dataclass(frozen=True, slots=True)
class Chunk:
    """A retrievable piece of a document.

    `context` is the enclosing scope a reader needs to understand `text`
    (e.g. ``class Foo:`` and the method signature, or the heading path of a
    doc section); it is embedded together with `text`.
    """

    doc_key: str
    text: str
    kind: str  # "function", "method", "class", "section", "window", "commit", "module"
    language: str
    start_line: int  # 1-based, inclusive
    end_line: int  # 1-based, inclusive
    symbol: str = ""  # "Foo.bar" for a method, heading text for a section
    context: str = ""

    @property
    def embed_text(self) -> str:
        """The text the embedders see."""
        return f"{self.context}\n{self.text}" if self.context else self.text

    @property
    def content_hash(self) -> str:
        """Identity of what gets embedded; equal hashes share vectors."""
        return hashlib.sha256(self.embed_text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class SparseVector:
    indices: tuple[int, ...]
    values: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class StoredPoint:
    """What a vector store holds for one chunk."""

    id: str  # UUID string
    dense: tuple[float, ...]
    sparse: SparseVector
    payload: dict[str, object]


@dataclass(frozen=True, slots=True)
class ScoredId:
    id: str
    score: float


@dataclass(frozen=True, slots=True)
class StoreFilter:
    """Conditions a store evaluates itself (all are ANDed; empty = no condition)."""

    languages: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()  # DocKind values
    dir_prefix: str = ""  # POSIX directory relative to the root, e.g. "rag/mochi"

    def is_empty(self) -> bool:
        return not (self.languages or self.kinds or self.sources or self.dir_prefix)


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """User-facing retrieval filters."""

    path_glob: str = ""  # fnmatch-style, e.g. "rag/**/*.py"
    languages: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    exclude_globs: tuple[str, ...] = ()  # paths matching any of these are left out
    exclude_tests: bool = False  # leave out test files (tests/, test_*.py, *.spec.ts, ...)


@dataclass(frozen=True, slots=True)
class Hit:
    """A retrieval result."""

    path: str
    start_line: int
    end_line: int
    score: float
    text: str
    kind: str
    language: str
    symbol: str = ""
    source: str = DocKind.CODE.value


@dataclass(slots=True)
class Progress:
    """A progress report for long work (indexing); the server maps it to $/progress."""

    stage: str
    done: int
    total: int
    message: str = ""

    @property
    def percentage(self) -> int:
        return 100 if self.total <= 0 else min(100, int(100 * self.done / self.total))


ProgressCallback = Callable[[Progress], None]


@dataclass(slots=True)
class SkipCounts:
    """Why files were left out of the index. Skips are counted, never fatal."""

    binary: int = 0
    too_large: int = 0
    undecodable: int = 0
    secret_file: int = 0
    secret_chunk: int = 0
    unreadable: int = 0
    empty: int = 0
    outside_workspace: int = 0  # a symbolic link that leads out of the workspace
    symlink: int = 0  # a link inside it: its target is indexed under its own path
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, reason: str, key: str) -> None:
        setattr(self, reason, getattr(self, reason) + 1)
        bucket = self.examples.setdefault(reason, [])
        if len(bucket) < 5:
            bucket.append(display_name(key))

    def total(self) -> int:
        return (
            self.binary
            + self.too_large
            + self.undecodable
            + self.secret_file
            + self.secret_chunk
            + self.unreadable
            + self.empty
            + self.outside_workspace
            + self.symlink
        )
