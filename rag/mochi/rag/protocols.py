"""The small interfaces between the stages of the index (see STYLE.md, rule 3)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Protocol

from mochi.rag.types import (
    Chunk,
    Document,
    Hit,
    ScoredId,
    SearchFilters,
    SkipCounts,
    SparseVector,
    StoredPoint,
    StoreFilter,
)


class Source(Protocol):
    """Yields documents of one family (workspace files, git history)."""

    name: str

    def fingerprints(self) -> dict[str, str]:
        """Every document key this source has now -> a cheap change fingerprint.

        Files: ``"<size>:<mtime_ns>"``; commits: the sha. A key whose fingerprint
        equals the one in the manifest is not loaded again.
        """
        ...

    def load(self, key: str, skips: SkipCounts) -> Document | None:
        """Read one document; None (and a counted skip) when it must be left out."""
        ...


class PageOcr(Protocol):
    """Reads the text of a rendered page image (scanned PDFs)."""

    def read_png(self, png: bytes) -> str: ...


class Chunker(Protocol):
    def chunk(self, doc: Document) -> list[Chunk]: ...


class Embedder(Protocol):
    """Dense text embeddings; passages and queries may get different prefixes."""

    @property
    def dim(self) -> int: ...

    @property
    def model_id(self) -> str: ...

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...


class SparseEncoder(Protocol):
    """BM25-style sparse vectors (term weights; the store applies IDF)."""

    def encode_passage(self, text: str) -> SparseVector: ...

    def encode_query(self, text: str) -> SparseVector: ...


class VectorStore(Protocol):
    """One collection of chunk points with a dense and a sparse vector each.

    Every back end shares the schema: dense vector ``"dense"`` (cosine),
    sparse vector ``"sparse"`` with the IDF modifier, and the payload written
    by the indexer. Point ids are UUID strings.
    """

    def upsert(self, points: Sequence[StoredPoint]) -> None: ...

    def delete(self, ids: Sequence[str]) -> None: ...

    def set_payloads(self, payloads: Mapping[str, dict[str, object]]) -> None:
        """Overwrite the payload of existing points (no re-embedding)."""
        ...

    def get_vectors(self, ids: Sequence[str]) -> dict[str, tuple[list[float], SparseVector]]:
        """Vectors of the points that exist among `ids` (missing ids are left out)."""
        ...

    def merge_payloads(self, payloads: Mapping[str, dict[str, object]]) -> None:
        """Set the given payload keys of existing points, keeping their other keys."""
        ...

    def get_payloads(
        self, ids: Sequence[str], fields: Sequence[str] | None = None
    ) -> dict[str, dict[str, object]]:
        """Payloads of the points that exist among `ids`; only `fields` when given."""
        ...

    def search_dense(
        self, vector: Sequence[float], limit: int, where: StoreFilter | None = None
    ) -> list[ScoredId]: ...

    def search_sparse(
        self, vector: SparseVector, limit: int, where: StoreFilter | None = None
    ) -> list[ScoredId]: ...

    def iter_ids(self) -> Iterator[str]: ...

    def count(self) -> int: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...


class Retriever(Protocol):
    def retrieve(
        self, query: str, k: int = 10, filters: SearchFilters | None = None
    ) -> list[Hit]: ...
