"""The parts a query runs on, built from the configuration: the store and the retriever
(shared by the full index and the query-only one)."""

from __future__ import annotations

from pathlib import Path

from mochi.rag.config import RagConfig
from mochi.rag.paths import workspace_id
from mochi.rag.protocols import Embedder, SparseEncoder, VectorStore
from mochi.rag.retrieval import HybridRetriever


def open_store(config: RagConfig, location: Path, root: Path, dim: int) -> VectorStore:
    if config.store.backend == "edge":
        from mochi.rag.store.edge import EdgeVectorStore

        return EdgeVectorStore(location / "edge", dim)
    from mochi.rag.store.qdrant_server import QdrantServerVectorStore  # seconds to import

    collection = config.store.collection or f"mochi_{workspace_id(root)}"
    return QdrantServerVectorStore(
        url=config.store.url,
        api_key=config.store.api_key or None,
        collection=collection,
        dim=dim,
    )


def build_retriever(
    config: RagConfig, store: VectorStore, embedder: Embedder, sparse: SparseEncoder
) -> HybridRetriever:
    r = config.retrieval
    return HybridRetriever(
        store=store,
        embedder=embedder,
        sparse=sparse,
        fusion=r.fusion,
        dense_weight=r.dense_weight,
        code_dense_weight=r.code_dense_weight,
        rrf_k=r.rrf_k,
        candidates=r.candidates,
        dedupe_similarity=r.dedupe_similarity,
        hub_penalty=r.hub_penalty if config.index.density_neighbours > 0 else 0.0,
        test_penalty=r.test_penalty,
        changelog_penalty=r.changelog_penalty,
        merge_units=r.merge_units,
    )
