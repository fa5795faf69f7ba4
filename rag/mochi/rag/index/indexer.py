"""Incremental indexing: sources -> chunks -> vectors -> store, kept in step with the manifest."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from mochi.rag.file_names import display_name
from mochi.rag.index.density import DensityKeeper
from mochi.rag.index.manifest import ChunkRow, DocRow, Manifest
from mochi.rag.index.point_ids import point_ids
from mochi.rag.index.report import IndexReport
from mochi.rag.protocols import Chunker, Embedder, Source, SparseEncoder, VectorStore
from mochi.rag.secrets import SecretFilter
from mochi.rag.store.schema import dirs_of
from mochi.rag.types import Chunk, Document, Progress, ProgressCallback, SparseVector, StoredPoint

log = logging.getLogger(__name__)

CancelCheck = Callable[[], bool]


@dataclass(slots=True)
class _DocPlan:
    """The change one document brings: rows to write and point operations."""

    doc: Document
    row: DocRow
    chunks: list[ChunkRow] = field(default_factory=list)
    new: list[tuple[str, Chunk]] = field(default_factory=list)  # ids needing vectors
    moved: dict[str, dict[str, object]] = field(default_factory=dict)  # id -> new payload
    deleted: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Batch:
    plans: list[_DocPlan] = field(default_factory=list)
    removed_docs: list[str] = field(default_factory=list)
    removed_ids: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(len(p.new) + len(p.moved) + len(p.deleted) for p in self.plans) + len(
            self.removed_ids
        )


def chunk_payload(doc: Document, chunk: Chunk) -> dict[str, object]:
    is_file = doc.kind.value != "commit"
    path = display_name(doc.key)  # payloads are JSON: a name that is not UTF-8 shows U+FFFD
    return {
        "path": path,
        "source": doc.kind.value,
        "language": chunk.language,
        "kind": chunk.kind,
        "symbol": chunk.symbol,
        "start_line": chunk.start_line,
        "end_line": chunk.end_line,
        "text": chunk.text,
        "context": chunk.context,
        "hash": chunk.content_hash,
        "title": doc.title,
        "dirs": dirs_of(path) if is_file else [],
    }


class Indexer:
    def __init__(
        self,
        *,
        sources: Sequence[Source],
        chunker: Chunker,
        embedder: Embedder,
        sparse: SparseEncoder,
        store: VectorStore,
        manifest: Manifest,
        secrets: SecretFilter,
        batch_chunks: int = 256,
        density: DensityKeeper | None = None,
    ) -> None:
        self._sources = list(sources)
        self._chunker = chunker
        self._embedder = embedder
        self._sparse = sparse
        self._store = store
        self._manifest = manifest
        self._secrets = secrets
        self._batch_chunks = batch_chunks
        self._density = density
        self._changed: list[str] = []  # points written this sync, for the density pass

    def sync(
        self,
        progress: ProgressCallback | None = None,
        should_cancel: CancelCheck | None = None,
    ) -> IndexReport:
        """Bring the store in line with the sources; only what changed is embedded.

        Cancellation is honoured between batches; every committed batch stays.
        """
        report = IndexReport()
        started = time.perf_counter()
        notify = progress or (lambda _p: None)
        cancelled = should_cancel or (lambda: False)
        notify(Progress("scan", 0, 0, "listing files"))
        work: list[tuple[Source, str, str, DocRow | None]] = []  # fingerprint, known row
        removed: list[str] = []
        for source in self._sources:
            current = source.fingerprints()
            known = self._manifest.docs(source.name)
            for key in sorted(current):
                if self._secrets.is_secret_path(key):
                    report.skips.add("secret_file", key)
                    if key in known:
                        removed.append(key)
                    continue
                report.docs_seen += 1
                row = known.get(key)
                if row is None or row.fingerprint != current[key]:
                    work.append((source, key, current[key], row))
            removed.extend(k for k in known if k not in current)
        total = len(work) + len(removed)
        notify(Progress("index", 0, total, f"{len(work)} changed, {len(removed)} removed"))

        full_density = self._density is not None and self._density.needs_full_pass()
        if self._density is not None and (work or removed or full_density):
            self._density.mark_stale()
        self._changed = []
        batch = _Batch()
        if removed:
            self._add_removals(batch, removed, report)
        done = len(removed)
        for source, key, fingerprint, known_row in work:
            if cancelled():
                report.cancelled = True
                break
            self._plan_document(batch, source, key, fingerprint, known_row, report)
            done += 1
            if batch.size >= self._batch_chunks:
                self._apply(batch, report)
                batch = _Batch()
                notify(Progress("index", done, total, display_name(key)))
        if batch.plans or batch.removed_docs:
            self._apply(batch, report)
        if self._density is not None and (work or removed or full_density):
            notify(Progress("index", done, total, "neighbourhood densities"))
            density_started = time.perf_counter()
            self._density.refresh(self._changed, full=full_density)
            report.seconds_density = time.perf_counter() - density_started
        self._store.flush()
        report.chunks_total = self._manifest.chunk_count()
        report.seconds = time.perf_counter() - started
        notify(Progress("index", total if not report.cancelled else done, total, "done"))
        return report

    # planning
    def _add_removals(self, batch: _Batch, keys: Sequence[str], report: IndexReport) -> None:
        for key in keys:
            ids = [c.id for c in self._manifest.chunks_of(key)]
            batch.removed_docs.append(key)
            batch.removed_ids.extend(ids)
            report.docs_removed += 1
            report.chunks_deleted += len(ids)

    def _redacted(self, doc: Document, report: IndexReport) -> Document:
        """The document with its secrets redacted, before it is cut (a key spans chunks)."""
        text = self._secrets.redact(doc.text, doc.key)
        title = self._secrets.redact(doc.title, doc.key)
        if not text.count and not title.count:
            return doc
        report.add_redactions(doc.key, text.count + title.count)
        return replace(doc, text=text.text, title=title.text)

    def _keep_chunk(self, chunk: Chunk, report: IndexReport) -> bool:
        if self._secrets.find_secret(chunk.embed_text, chunk.doc_key) is None:
            return True
        report.skips.add("secret_chunk", f"{chunk.doc_key}:{chunk.start_line}")
        return False

    def _plan_document(
        self,
        batch: _Batch,
        source: Source,
        key: str,
        fingerprint: str,
        known: DocRow | None,
        report: IndexReport,
    ) -> None:
        doc = source.load(key, report.skips)
        if doc is None:
            if known is not None:
                self._add_removals(batch, [key], report)
            return
        if known is not None and known.content_hash == doc.content_hash:
            self._manifest.touch_docs([DocRow(key, source.name, fingerprint, doc.content_hash)])
            return
        report.docs_changed += 1
        doc = self._redacted(doc, report)
        chunks = [c for c in self._chunker.chunk(doc) if self._keep_chunk(c, report)]
        ids = point_ids(key, chunks)
        old = {c.id: c for c in self._manifest.chunks_of(key)}
        plan = _DocPlan(doc, DocRow(key, source.name, fingerprint, doc.content_hash))
        for cid, chunk in zip(ids, chunks, strict=True):
            plan.chunks.append(
                ChunkRow(cid, key, chunk.content_hash, chunk.start_line, chunk.end_line)
            )
            previous = old.get(cid)
            if previous is None:
                plan.new.append((cid, chunk))
            elif (previous.start_line, previous.end_line) != (chunk.start_line, chunk.end_line):
                plan.moved[cid] = chunk_payload(doc, chunk)
        keep = set(ids)
        plan.deleted = [cid for cid in old if cid not in keep]
        report.chunks_deleted += len(plan.deleted)
        report.chunks_moved += len(plan.moved)
        batch.plans.append(plan)

    # applying
    def _vectors_for(self, plans: Sequence[_DocPlan], report: IndexReport) -> list[StoredPoint]:
        """Points for every new chunk: dense vectors reused by content hash where the
        store already holds that text (renames, copies), embedded otherwise."""
        wanted = [(plan.doc, cid, chunk) for plan in plans for cid, chunk in plan.new]
        if not wanted:
            return []
        holders = self._manifest.ids_with_hashes(c.content_hash for _, _, c in wanted)
        stored = self._store.get_vectors(list(set(holders.values()))) if holders else {}
        dense_by_hash = {h: stored[pid][0] for h, pid in holders.items() if pid in stored}
        to_embed = sorted(
            {
                c.content_hash: c.embed_text
                for _, _, c in wanted
                if c.content_hash not in dense_by_hash
            }.items()
        )
        if to_embed:
            started = time.perf_counter()
            vectors = self._embedder.embed_passages([text for _, text in to_embed])
            report.seconds_embedding += time.perf_counter() - started
            report.chunks_embedded += len(to_embed)
            dense_by_hash.update(zip((h for h, _ in to_embed), vectors, strict=True))
        report.chunks_reused += len(wanted) - len(to_embed)
        points: list[StoredPoint] = []
        for doc, cid, chunk in wanted:
            sparse: SparseVector = self._sparse.encode_passage(f"{doc.key}\n{chunk.embed_text}")
            points.append(
                StoredPoint(
                    cid, tuple(dense_by_hash[chunk.content_hash]), sparse, chunk_payload(doc, chunk)
                )
            )
        return points

    def _apply(self, batch: _Batch, report: IndexReport) -> None:
        """Write one batch with the two-phase protocol described in manifest.py."""
        points = self._vectors_for(batch.plans, report)
        moved = {cid: payload for plan in batch.plans for cid, payload in plan.moved.items()}
        deleted = batch.removed_ids + [cid for plan in batch.plans for cid in plan.deleted]
        touched = [p.id for p in points] + list(moved) + deleted
        doc_keys = [plan.row.key for plan in batch.plans] + batch.removed_docs
        batch_id = self._manifest.begin_batch(doc_keys, touched)
        if points:
            self._store.upsert(points)
            self._changed.extend(p.id for p in points)
        if moved:  # merged, so a moved chunk keeps its density
            self._store.merge_payloads(moved)
        if deleted:
            if self._density is not None:
                self._density.before_delete(deleted)
            self._store.delete(deleted)
        self._manifest.commit_batch(
            batch_id,
            [plan.row for plan in batch.plans],
            [row for plan in batch.plans for row in plan.chunks],
            batch.removed_docs,
        )
