"""The token memory on disk: one block per file version (keyed by the content hash of the
text the model read) and a manifest naming the block of every file in the memory.

Crash-safe by order: a block is written under a temporary name and renamed into place
before any manifest names it; the manifest is replaced atomically (write, fsync, rename).
A crash leaves the previous manifest (every block it names complete) and perhaps blocks
nobody names, which `collect_garbage` removes. A manifest made by another encoder (model,
adapter) is not read: the memory starts empty and fills again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mochi.rag.atomic_file import write_atomically, write_with

MANIFEST = "manifest.json"
BLOCKS = "blocks"
FORMAT = 1


@dataclass(frozen=True, slots=True)
class FileEntry:
    fingerprint: str  # the source's cheap fingerprint (size and mtime, or a git blob id)
    content: str  # hash of the text the model read: the block's name


class MemoryStore:
    """The blocks and manifest of one memory (one workspace, one encoder)."""

    def __init__(self, folder: Path, encoder: str) -> None:
        self.folder = Path(folder)
        self.encoder = encoder
        (self.folder / BLOCKS).mkdir(parents=True, exist_ok=True)
        self._files = self._read_manifest()

    def files(self) -> dict[str, FileEntry]:
        return dict(self._files)

    def has_block(self, content: str) -> bool:
        return self._block_path(content).is_file()

    def put_block(self, content: str, keys: np.ndarray, values: np.ndarray) -> None:
        """Store one file version's keys (n × d) and values (n next tokens)."""
        if keys.ndim != 2 or values.shape != (keys.shape[0],):
            raise ValueError(f"keys {keys.shape} and values {values.shape} do not match")
        keys16, values32 = keys.astype(np.float16), values.astype(np.int32)
        write_with(
            self._block_path(content),
            lambda out: np.savez(out, keys=keys16, values=values32),
            suffix=".npz",
        )

    def read_block(self, content: str) -> tuple[np.ndarray, np.ndarray]:
        with np.load(self._block_path(content)) as data:
            return data["keys"], data["values"]

    def commit(self, files: dict[str, FileEntry]) -> None:
        """Make `files` the memory's content; every block they name must exist."""
        missing = sorted(p for p, e in files.items() if not self.has_block(e.content))
        if missing:
            raise ValueError(f"no block for {missing[:3]}")
        data = {
            "format": FORMAT,
            "encoder": self.encoder,
            "files": {p: [e.fingerprint, e.content] for p, e in sorted(files.items())},
        }
        write_atomically(self.folder / MANIFEST, json.dumps(data), suffix=".json")
        self._files = dict(files)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """All keys (float16) and values of the files in the manifest, in path order; a
        block shared by several paths (copies of one file) is read once."""
        keys, values = [], []
        for content in dict.fromkeys(e.content for _, e in sorted(self._files.items())):
            k, v = self.read_block(content)
            if not v.size:  # a file too short to hold a next token
                continue
            keys.append(k)
            values.append(v)
        if not keys:
            return np.zeros((0, 0), dtype=np.float16), np.zeros(0, dtype=np.int32)
        return np.concatenate(keys), np.concatenate(values)

    def collect_garbage(self) -> int:
        """Remove blocks (and temporary files) the manifest does not name; the count."""
        named = {e.content for e in self._files.values()}
        removed = 0
        for path in (self.folder / BLOCKS).iterdir():
            if path.name.startswith(".tmp-") or path.stem not in named:
                path.unlink(missing_ok=True)
                removed += 1
        for path in self.folder.glob(".tmp-*"):
            path.unlink(missing_ok=True)
        return removed

    def _block_path(self, content: str) -> Path:
        if not content or not all(c in "0123456789abcdef" for c in content):
            raise ValueError(f"a block is named by a hex content hash, not {content!r}")
        return self.folder / BLOCKS / f"{content}.npz"

    def _read_manifest(self) -> dict[str, FileEntry]:
        path = self.folder / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if data.get("format") != FORMAT or data.get("encoder") != self.encoder:
            return {}
        files = {p: FileEntry(f, c) for p, (f, c) in data.get("files", {}).items()}
        return {p: e for p, e in files.items() if self.has_block(e.content)}
