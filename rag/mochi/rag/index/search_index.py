"""A workspace's index opened to answer queries only (`mochi search`).

It holds the lock, the manifest, the store, the embedder and the retriever, and none
of what indexing needs (sources, chunker, indexer, density keeper): a query in a fresh
process pays only for what it uses. It never rebuilds: an index built with another
embedding model, or none at all, is an `IndexNotReadyError` that says to run
`mochi index`.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mochi.rag.config import RagConfig
from mochi.rag.embedding.sparse import Bm25SparseEncoder
from mochi.rag.file_names import display_name
from mochi.rag.index.lock import IndexLock
from mochi.rag.index.manifest import Manifest
from mochi.rag.index.query_parts import build_retriever, open_store
from mochi.rag.index.repair import repair
from mochi.rag.paths import data_dir, index_dir
from mochi.rag.protocols import Embedder, VectorStore
from mochi.rag.retrieval.hybrid import HybridRetriever, Mode
from mochi.rag.types import Hit, SearchFilters

EMBEDDING_KEY = "embedding"  # the manifest's "<model id>:<dimension>"


class IndexNotReadyError(RuntimeError):
    """There is no index to search yet, or it was built with another embedding model."""


class SearchIndex:
    """The query side of one workspace's index; close it (or use `with`) to unlock."""

    def __init__(
        self,
        *,
        root: Path,
        location: Path,
        lock: IndexLock,
        manifest: Manifest,
        store: VectorStore,
        retriever: HybridRetriever,
    ) -> None:
        self.root = root
        self.location = location
        self.store = store
        self.retriever = retriever
        self._lock = lock
        self._manifest = manifest

    def chunk_count(self) -> int:
        return self._manifest.chunk_count()

    def search(
        self, query: str, k: int = 10, filters: SearchFilters | None = None, mode: Mode = "hybrid"
    ) -> list[Hit]:
        return self.retriever.search(query, k, filters, mode)

    def close(self) -> None:
        try:
            self.store.close()
        finally:
            self._manifest.close()
            self._lock.release()

    def __enter__(self) -> SearchIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_search_index(
    root: Path, config: RagConfig, make_embedder: Callable[[], Embedder]
) -> SearchIndex:
    """Open the index of `root` for queries with the embedder `make_embedder` builds
    (once the index is known to be there; the model loads on a thread of its own while
    the store opens, the two slow steps of a query in a fresh process).

    Raises IndexLockedError when another process holds it, IndexNotReadyError when there
    is nothing to search with this embedder.
    """
    root = root.expanduser().resolve()
    location = index_dir(data_dir(config.data_dir), root)
    if not (location / "manifest.sqlite").is_file():
        raise IndexNotReadyError(f"{display_name(str(root))} has no index yet")
    lock = IndexLock(location / "lock").acquire(str(root))
    manifest: Manifest | None = None
    store: VectorStore | None = None
    try:
        manifest = Manifest(location / "manifest.sqlite")
        built_with = manifest.get_meta(EMBEDDING_KEY)
        if built_with is None or manifest.chunk_count() == 0:
            raise IndexNotReadyError(f"the index of {display_name(str(root))} is empty")
        with ThreadPoolExecutor(1, thread_name_prefix="mochi-embedder") as pool:
            loading = pool.submit(make_embedder)
            store = open_store(config, location, root, _dimension(built_with))
            embedder = loading.result()
        identity = f"{embedder.model_id}:{embedder.dim}"
        if built_with != identity:
            raise IndexNotReadyError(
                f"the index of {display_name(str(root))} was built with {built_with}, "
                f"the configuration asks for {identity}"
            )
        repair(manifest, store)  # undo a crashed run's half-written batch, if any
    except BaseException:
        try:
            if store is not None:
                store.close()
        finally:
            if manifest is not None:
                manifest.close()
            lock.release()
        raise
    retriever = build_retriever(config, store, embedder, Bm25SparseEncoder())
    return SearchIndex(
        root=root,
        location=location,
        lock=lock,
        manifest=manifest,
        store=store,
        retriever=retriever,
    )


def _dimension(identity: str) -> int:
    """The dense size in the manifest's "<model id>:<dimension>"."""
    try:
        return int(identity.rsplit(":", 1)[1])
    except (IndexError, ValueError):
        raise IndexNotReadyError(
            f"the index records an unreadable embedding ({identity!r}): run `mochi index --rebuild`"
        ) from None
