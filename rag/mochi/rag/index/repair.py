"""Bring store and manifest back in step after a crash."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from mochi.rag.index.manifest import Manifest
from mochi.rag.protocols import VectorStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RepairReport:
    pending_batches: int
    stray_points: int
    docs_forgotten: int

    @property
    def changed(self) -> bool:
        return bool(self.pending_batches or self.stray_points or self.docs_forgotten)


def repair(manifest: Manifest, store: VectorStore, *, full: bool = False) -> RepairReport:
    """Undo interrupted batches; with `full` (or when counts disagree) compare every id.

    Documents whose points cannot be trusted are forgotten, so the next sync
    indexes them again; points that no manifest row owns are deleted.
    """
    forgotten: set[str] = set()
    pending = manifest.pending()
    for batch in pending:
        ids = set(batch.point_ids)
        for key in batch.doc_keys:
            ids.update(c.id for c in manifest.chunks_of(key))
        if ids:
            store.delete(sorted(ids))
        forgotten.update(batch.doc_keys)
    if pending:
        manifest.forget(forgotten, [b.batch for b in pending])
    stray = 0
    if full or store.count() != manifest.chunk_count():
        in_store = set(store.iter_ids())
        in_manifest = manifest.all_chunk_ids()
        extra = sorted(in_store - in_manifest)
        if extra:
            store.delete(extra)
            stray = len(extra)
        missing = in_manifest - in_store
        if missing:
            docs = manifest.docs_of_chunks(missing)
            survivors = sorted(
                c.id for key in docs for c in manifest.chunks_of(key) if c.id in in_store
            )
            if survivors:
                store.delete(survivors)
            manifest.forget(docs)
            forgotten.update(docs)
    store.flush()
    report = RepairReport(len(pending), stray, len(forgotten))
    if report.changed:
        log.warning(
            "index repaired after an interrupted run: %d unfinished batches, %d stray points, "
            "%d documents queued for re-indexing",
            report.pending_batches,
            report.stray_points,
            report.docs_forgotten,
        )
    return report
