"""The manifest: which documents and chunks the vector store holds (SQLite, WAL).

Crash safety rests on one rule: before the store is touched, the ids a batch is
about to add, change or delete are written to `pending` in a committed
transaction; the batch's new rows replace the old ones and `pending` is
cleared in a second transaction after the store writes. A crash in between
leaves a pending row, and `repair` (run on every open) removes exactly those
points and documents so the next sync rebuilds them.

A document key that is not valid text (a file name with bytes that are not UTF-8,
surrogate-escaped) is stored as the BLOB of its bytes and read back as the same key.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mochi.rag.file_names import from_name_bytes, is_valid_text, name_bytes

SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS docs (
    key TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    content_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY,
    doc_key TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    start_line INTEGER NOT NULL,
    end_line INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_key);
CREATE INDEX IF NOT EXISTS chunks_hash ON chunks(content_hash);
CREATE TABLE IF NOT EXISTS pending (
    batch INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_keys TEXT NOT NULL,
    point_ids TEXT NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class DocRow:
    key: str
    source: str
    fingerprint: str
    content_hash: str


@dataclass(frozen=True, slots=True)
class ChunkRow:
    id: str
    doc_key: str
    content_hash: str
    start_line: int
    end_line: int


@dataclass(frozen=True, slots=True)
class PendingBatch:
    batch: int
    doc_keys: tuple[str, ...]
    point_ids: tuple[str, ...]


class Manifest:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # check_same_thread=False: the indexer may run in a worker thread, and
        # the owner serialises access with its own lock.
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        if self.get_meta("schema_version") is None:
            self.set_meta("schema_version", SCHEMA_VERSION)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()

    # meta
    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else _key(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """A surrogate-escaped value (a workspace path that is not UTF-8) goes in as bytes."""
        self._db.execute(
            "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, _column(value))
        )

    # reads
    def docs(self, source: str | None = None) -> dict[str, DocRow]:
        sql = "SELECT key, source, fingerprint, content_hash FROM docs"
        rows = (
            self._db.execute(sql + " WHERE source = ?", (source,))
            if source is not None
            else self._db.execute(sql)
        )
        return {_key(r[0]): DocRow(_key(r[0]), r[1], r[2], r[3]) for r in rows}

    def chunks_of(self, doc_key: str) -> list[ChunkRow]:
        rows = self._db.execute(
            "SELECT id, doc_key, content_hash, start_line, end_line FROM chunks WHERE doc_key = ?",
            (_column(doc_key),),
        )
        return [ChunkRow(r[0], _key(r[1]), r[2], r[3], r[4]) for r in rows]

    def ids_with_hashes(self, hashes: Iterable[str]) -> dict[str, str]:
        """content_hash -> one point id holding it, for vector reuse."""
        found: dict[str, str] = {}
        wanted = list(set(hashes))
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            marks = ",".join("?" * len(part))
            for cid, chash in self._db.execute(
                f"SELECT id, content_hash FROM chunks WHERE content_hash IN ({marks})", part
            ):
                found.setdefault(chash, cid)
        return found

    def all_chunk_ids(self) -> set[str]:
        return {r[0] for r in self._db.execute("SELECT id FROM chunks")}

    def chunk_count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])

    def doc_count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM docs").fetchone()[0])

    def docs_of_chunks(self, ids: Iterable[str]) -> set[str]:
        keys: set[str] = set()
        wanted = list(ids)
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            marks = ",".join("?" * len(part))
            keys.update(
                _key(r[0])
                for r in self._db.execute(
                    f"SELECT DISTINCT doc_key FROM chunks WHERE id IN ({marks})", part
                )
            )
        return keys

    # the two-phase batch protocol
    def begin_batch(self, doc_keys: Sequence[str], point_ids: Sequence[str]) -> int:
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO pending(doc_keys, point_ids) VALUES (?, ?)",
                (json.dumps(list(doc_keys)), json.dumps(list(point_ids))),
            )
            return int(cur.lastrowid or 0)

    def commit_batch(
        self,
        batch: int,
        docs: Sequence[DocRow],
        chunks: Sequence[ChunkRow],
        removed_docs: Sequence[str] = (),
    ) -> None:
        """Replace the rows of `docs` and `removed_docs` with the new ones, atomically."""
        with self._tx() as db:
            keys = [(_column(k),) for k in [d.key for d in docs] + list(removed_docs)]
            db.executemany("DELETE FROM chunks WHERE doc_key = ?", keys)
            db.executemany("DELETE FROM docs WHERE key = ?", [(_column(k),) for k in removed_docs])
            db.executemany(
                "INSERT OR REPLACE INTO docs(key, source, fingerprint, content_hash) "
                "VALUES (?, ?, ?, ?)",
                [(_column(d.key), d.source, d.fingerprint, d.content_hash) for d in docs],
            )
            db.executemany(
                "INSERT OR REPLACE INTO chunks(id, doc_key, content_hash, start_line, end_line) "
                "VALUES (?, ?, ?, ?, ?)",
                [
                    (c.id, _column(c.doc_key), c.content_hash, c.start_line, c.end_line)
                    for c in chunks
                ],
            )
            db.execute("DELETE FROM pending WHERE batch = ?", (batch,))

    def touch_docs(self, docs: Sequence[DocRow]) -> None:
        """Record new fingerprints of documents whose content did not change."""
        with self._tx() as db:
            db.executemany(
                "UPDATE docs SET fingerprint = ? WHERE key = ?",
                [(d.fingerprint, _column(d.key)) for d in docs],
            )

    def pending(self) -> list[PendingBatch]:
        rows = self._db.execute("SELECT batch, doc_keys, point_ids FROM pending ORDER BY batch")
        return [PendingBatch(r[0], tuple(json.loads(r[1])), tuple(json.loads(r[2]))) for r in rows]

    def forget(self, doc_keys: Iterable[str], batches: Iterable[int] = ()) -> None:
        """Drop documents (and their chunks) so the next sync indexes them afresh."""
        keys = [(_column(k),) for k in doc_keys]
        with self._tx() as db:
            db.executemany("DELETE FROM chunks WHERE doc_key = ?", keys)
            db.executemany("DELETE FROM docs WHERE key = ?", keys)
            db.executemany("DELETE FROM pending WHERE batch = ?", [(b,) for b in batches])

    def clear(self) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM chunks")
            db.execute("DELETE FROM docs")
            db.execute("DELETE FROM pending")
            db.execute("DELETE FROM meta WHERE key != 'schema_version'")


def _column(key: str) -> str | bytes:
    """How a document key is stored: as text, or as the BLOB of its bytes when it is
    a surrogate-escaped file name (SQLite text must be UTF-8)."""
    return key if is_valid_text(key) else name_bytes(key)


def _key(value: str | bytes) -> str:
    return from_name_bytes(value) if isinstance(value, bytes) else value
