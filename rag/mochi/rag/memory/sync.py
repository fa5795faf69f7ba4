"""Keep the token memory in step with the workspace, as the index is kept: the same
source (files git tracks or a folder's files, ignore rules, links never followed), the
same secret redaction, the same change detection (a cheap fingerprint, then the content
hash), so only the files that changed are read by the model again."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from mochi.rag.languages import classify
from mochi.rag.memory.store import FileEntry, MemoryStore
from mochi.rag.prompting import build_prompt
from mochi.rag.protocols import Source
from mochi.rag.secrets import SecretFilter
from mochi.rag.types import DocKind, Progress, ProgressCallback, SkipCounts

COMMIT_EVERY = 16  # files encoded between manifest writes: a crash loses at most these


class TokenEncoder(Protocol):
    """The language model's side of the memory."""

    @property
    def identity(self) -> str:
        """Names the model (and adapter) the keys come from; keys of two encoders are not
        comparable, so a memory made by another one is started again."""
        ...

    def encode(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(keys, values) over the tokens of `text`: for each position, the model's state
        (n × d) and the token that follows it (n)."""
        ...


@dataclass
class MemoryReport:
    files: int = 0  # code files in the memory after the sync
    encoded: int = 0  # file versions the model read
    reused: int = 0  # changed files whose text was already in a block (a copy, a revert)
    removed: int = 0  # files gone from the memory
    tokens: int = 0  # tokens encoded
    seconds: float = 0.0
    cancelled: bool = False

    def summary(self) -> str:
        return (
            f"{self.files} files, {self.encoded} read by the model ({self.tokens} tokens), "
            f"{self.reused} reused, {self.removed} removed in {self.seconds:.1f} s"
            + (" (cancelled)" if self.cancelled else "")
        )


def memory_text(path: str, text: str, language: str) -> str:
    """What the model reads of a file: its text as a completion prompt shows it (the
    server's path line, then the code), so the keys are states in the prompts' format."""
    return build_prompt(
        prefix=text, suffix="", path=path, language=language, snippets=[], fim_template=None
    ).text


def sync_memory(
    store: MemoryStore,
    source: Source,
    secrets: SecretFilter,
    encoder: TokenEncoder,
    *,
    progress: ProgressCallback | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> MemoryReport:
    """Encode the code files that changed since the last sync, drop those gone; the
    manifest is written every COMMIT_EVERY files, so cancelling or crashing keeps what
    was done (a file not reached keeps its previous version until the next sync)."""
    if store.encoder != encoder.identity:
        raise ValueError(f"the store holds keys of {store.encoder!r}, not {encoder.identity!r}")
    started = time.perf_counter()
    notify = progress or (lambda _p: None)
    cancelled = should_cancel or (lambda: False)
    report = MemoryReport()
    current = source.fingerprints()
    known = store.files()
    files: dict[str, FileEntry] = {}
    todo: list[str] = []
    for key in sorted(current):
        if classify(key)[1] is not DocKind.CODE or secrets.is_secret_path(key):
            continue
        entry = known.get(key)
        if entry is not None and entry.fingerprint == current[key]:
            files[key] = entry
        else:
            todo.append(key)
    report.removed = sum(1 for key in known if key not in files and key not in todo)
    skips = SkipCounts()
    notify(Progress("memory", 0, len(todo), f"{len(todo)} files to read"))
    for done, key in enumerate(todo, start=1):
        if cancelled():
            report.cancelled = True
            files.update({k: known[k] for k in todo[done - 1 :] if k in known})
            break
        entry = _encoded(store, source, secrets, encoder, key, current[key], skips, report)
        if entry is not None:
            files[key] = entry
        if done % COMMIT_EVERY == 0:
            store.commit({**{k: known[k] for k in todo[done:] if k in known}, **files})
        notify(Progress("memory", done, len(todo), key))
    store.commit(files)
    store.collect_garbage()
    report.files = len(files)
    report.seconds = time.perf_counter() - started
    return report


def _encoded(
    store: MemoryStore,
    source: Source,
    secrets: SecretFilter,
    encoder: TokenEncoder,
    key: str,
    fingerprint: str,
    skips: SkipCounts,
    report: MemoryReport,
) -> FileEntry | None:
    """The file's entry, its block written first when the model has not read this text."""
    doc = source.load(key, skips)
    if doc is None or doc.kind is not DocKind.CODE:
        return None
    text = secrets.redact(doc.text, key).text
    if not text.strip():
        return None
    read = memory_text(key, text, doc.language)
    content = hashlib.sha256(f"{encoder.identity}\0{read}".encode()).hexdigest()
    if store.has_block(content):
        report.reused += 1
    else:
        keys, values = encoder.encode(read)
        store.put_block(content, keys, values)
        report.encoded += 1
        report.tokens += int(values.size)
    return FileEntry(fingerprint, content)
