"""A workspace's index: the composition root that builds the rag parts from config."""

from __future__ import annotations

import logging
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

from mochi.rag.config import RagConfig
from mochi.rag.embedding import Bm25SparseEncoder
from mochi.rag.embedding.factory import build_dense_embedder
from mochi.rag.file_names import display_name
from mochi.rag.index.catalogue import ROOT_KEY
from mochi.rag.index.density import DensityKeeper
from mochi.rag.index.indexer import CancelCheck, Indexer
from mochi.rag.index.lock import IndexLock
from mochi.rag.index.manifest import Manifest
from mochi.rag.index.query_parts import build_retriever, open_store
from mochi.rag.index.repair import RepairReport, repair
from mochi.rag.index.report import IndexReport
from mochi.rag.paths import data_dir, index_dir
from mochi.rag.protocols import Chunker, Embedder, PageOcr, Source, VectorStore
from mochi.rag.retrieval import HybridRetriever
from mochi.rag.retrieval.hybrid import Mode
from mochi.rag.secrets import SecretFilter, secret_filter
from mochi.rag.types import Hit, ProgressCallback, SearchFilters

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IndexStatus:
    root: str
    location: str
    backend: str
    embedding_model: str
    documents: int
    chunks: int
    points: int


class WorkspaceIndex:
    """Owns the lock, manifest, store, indexer and retriever of one workspace."""

    def __init__(
        self,
        *,
        root: Path,
        location: Path,
        backend: str,
        lock: IndexLock,
        manifest: Manifest,
        store: VectorStore,
        embedder: Embedder,
        indexer: Indexer,
        retriever: HybridRetriever,
        repaired: RepairReport,
    ) -> None:
        self.root = root
        self.location = location
        self.backend = backend
        self.store = store
        self.embedder = embedder
        self.retriever = retriever
        self.repaired = repaired
        self._lock = lock
        self.manifest = manifest
        self._indexer = indexer
        self._closed = False
        self._closing = threading.Event()
        self._sync_lock = threading.Lock()

    def sync(
        self, progress: ProgressCallback | None = None, should_cancel: CancelCheck | None = None
    ) -> IndexReport:
        """One sync at a time (the watcher, a save and a command may all ask).

        A sync running when `close()` is called stops at its next batch boundary.
        """

        def cancelled() -> bool:
            return self._closing.is_set() or bool(should_cancel and should_cancel())

        with self._sync_lock:
            if self._closed:
                raise RuntimeError(f"the index of {self.root} is closed")
            return self._indexer.sync(progress, cancelled)

    def search(
        self, query: str, k: int = 10, filters: SearchFilters | None = None, mode: Mode = "hybrid"
    ) -> list[Hit]:
        return self.retriever.search(query, k, filters, mode)

    def status(self) -> IndexStatus:
        return IndexStatus(
            root=display_name(str(self.root)),
            location=str(self.location),
            backend=self.backend,
            embedding_model=self.embedder.model_id,
            documents=self.manifest.doc_count(),
            chunks=self.manifest.chunk_count(),
            points=self.store.count(),
        )

    def close(self) -> None:
        """Stop a running sync (at its next batch), then close store, manifest and lock."""
        self._closing.set()
        with self._sync_lock:
            if self._closed:
                return
            self._closed = True
            self._close_parts()

    def _close_parts(self) -> None:
        try:
            self.store.flush()
            self.store.close()
        finally:
            self.manifest.close()
            self._lock.release()

    def __enter__(self) -> WorkspaceIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _sources(
    root: Path, config: RagConfig, ocr: PageOcr | None, secrets: SecretFilter
) -> list[Source]:
    from mochi.rag.sources import GitHistorySource, PdfTextReader, WorkspaceSource

    ignores = list(config.index.ignore)
    if not config.index.pdf:
        ignores.append("*.pdf")
    if ocr is None and config.index.ocr:
        from mochi.rag.sources import EasyOcr

        ocr = EasyOcr()
    sources: list[Source] = [
        WorkspaceSource(
            root,
            max_file_bytes=config.index.max_file_bytes,
            extra_ignores=ignores,
            pdf_reader=PdfTextReader(ocr=ocr),
        )
    ]
    if config.index.include_history:
        sources.append(
            GitHistorySource(
                root,
                max_commits=config.index.max_commits,
                max_diff_chars=config.index.max_diff_chars,
                hidden=secrets.is_secret_path,
            )
        )
    return sources


def build_embedder(config: RagConfig) -> Embedder:
    """The dense embedder of `embedding.backend` (onnx-int8, onnx or torch)."""
    return build_dense_embedder(config.embedding)


def open_workspace_index(
    root: Path,
    config: RagConfig,
    *,
    embedder: Embedder | None = None,
    chunker: Chunker | None = None,
    sources: list[Source] | None = None,
    ocr: PageOcr | None = None,
    rebuild: bool = False,
) -> WorkspaceIndex:
    """Open (creating or repairing as needed) the index of `root`.

    Raises IndexLockedError when another process holds it. Parts passed in
    (embedder, chunker, sources) replace the ones the config would build.
    """
    from mochi.rag.chunking import DefaultChunker

    root = root.expanduser().resolve()
    if not root.is_dir():
        raise NotADirectoryError(f"workspace {root} is not a folder")
    location = index_dir(data_dir(config.data_dir), root)
    lock = IndexLock(location / "lock").acquire(str(root))
    try:
        embedder = embedder or build_embedder(config)
        manifest = Manifest(location / "manifest.sqlite")
        identity = f"{embedder.model_id}:{embedder.dim}"
        previous = manifest.get_meta("embedding")
        if rebuild or (previous is not None and previous != identity):
            if previous is not None and previous != identity:
                log.warning("embedding model changed (%s -> %s): rebuilding", previous, identity)
            manifest.clear()
            if config.store.backend == "edge":
                shutil.rmtree(location / "edge", ignore_errors=True)
        store = open_store(config, location, root, embedder.dim)
        if rebuild and config.store.backend != "edge":
            store.delete(list(store.iter_ids()))
        manifest.set_meta("embedding", identity)
        manifest.set_meta(ROOT_KEY, str(root))  # for `mochi index --list` / `--gc`
        repaired = repair(manifest, store)
        sparse = Bm25SparseEncoder()
        secrets = secret_filter(config.secrets)
        indexer = Indexer(
            sources=sources if sources is not None else _sources(root, config, ocr, secrets),
            chunker=chunker or DefaultChunker(max_chars=config.index.chunk_max_chars),
            embedder=embedder,
            sparse=sparse,
            store=store,
            manifest=manifest,
            secrets=secrets,
            batch_chunks=config.index.batch_chunks,
            density=DensityKeeper(store, manifest, config.index.density_neighbours),
        )
        retriever = build_retriever(config, store, embedder, sparse)
    except BaseException:
        lock.release()
        raise
    return WorkspaceIndex(
        root=root,
        location=location,
        backend=config.store.backend,
        lock=lock,
        manifest=manifest,
        store=store,
        embedder=embedder,
        indexer=indexer,
        retriever=retriever,
        repaired=repaired,
    )
