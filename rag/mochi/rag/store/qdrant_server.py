"""The remote back end: a collection on a Qdrant server, through qdrant-client.

`path=` instead of `url=` runs qdrant-client's local mode (an in-process,
brute-force Qdrant persisted in a directory); the tests use it as the stand-in
for a server, so both back ends are checked against the same suite.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from mochi.rag.store.errors import (
    StoreError,
    StoreLockedError,
    StoreSchemaError,
    StoreUnavailableError,
)
from mochi.rag.store.schema import (
    DENSE_VECTOR,
    KEYWORD_FIELDS,
    SPARSE_VECTOR,
    filter_conditions,
)
from mochi.rag.types import ScoredId, SparseVector, StoredPoint, StoreFilter

UPSERT_BATCH = 256
SCROLL_PAGE = 256
_AUTH_STATUSES = (401, 403)


class QdrantServerVectorStore:
    """A `VectorStore` over one collection of a Qdrant server (or local-mode directory).

    Exactly one of `url` and `path` is given. The collection is created with the
    shared schema when missing; an existing one must match it.
    """

    def __init__(
        self,
        *,
        url: str | None = None,
        api_key: str | None = None,
        path: Path | None = None,
        collection: str,
        dim: int,
        timeout: float = 10.0,
    ) -> None:
        if (url is None) == (path is None):
            raise ValueError("give exactly one of url= (a Qdrant server) and path= (local mode)")
        if api_key is not None and path is not None:
            raise ValueError("api_key= applies to a server (url=), not to local mode (path=)")
        if not collection:
            raise ValueError("collection must be a non-empty name")
        if dim <= 0:
            raise ValueError(f"dim must be positive, got {dim}")
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self._url = url
        self._path = path
        self._collection = collection
        self._dim = dim
        self._location = f"{url or path} (collection {collection!r})"
        self._client: QdrantClient | None = self._connect(api_key, timeout)
        try:
            with self._remote_errors():
                self._ensure_collection()
        except BaseException:
            self.close()
            raise

    @property
    def collection(self) -> str:
        return self._collection

    @property
    def dim(self) -> int:
        return self._dim

    # -- writes --------------------------------------------------------------

    def upsert(self, points: Sequence[StoredPoint]) -> None:
        client = self._open()
        for start in range(0, len(points), UPSERT_BATCH):
            batch = [_to_point_struct(point) for point in points[start : start + UPSERT_BATCH]]
            with self._remote_errors():
                client.upsert(self._collection, points=batch, wait=True)

    def delete(self, ids: Sequence[str]) -> None:
        if not ids:
            return
        with self._remote_errors():
            self._open().delete(
                self._collection,
                points_selector=models.PointIdsList(points=list(ids)),
                wait=True,
            )

    def set_payloads(self, payloads: Mapping[str, dict[str, object]]) -> None:
        self._apply_in_batches(
            [
                models.OverwritePayloadOperation(
                    overwrite_payload=models.SetPayload(payload=dict(payload), points=[point_id])
                )
                for point_id, payload in payloads.items()
            ]
        )

    def merge_payloads(self, payloads: Mapping[str, dict[str, object]]) -> None:
        self._apply_in_batches(
            [
                models.SetPayloadOperation(
                    set_payload=models.SetPayload(payload=dict(payload), points=[point_id])
                )
                for point_id, payload in payloads.items()
            ]
        )

    def _apply_in_batches(self, operations: Sequence[models.UpdateOperation]) -> None:
        client = self._open()
        for start in range(0, len(operations), UPSERT_BATCH):
            with self._remote_errors():
                client.batch_update_points(
                    self._collection, list(operations[start : start + UPSERT_BATCH]), wait=True
                )

    # -- reads ---------------------------------------------------------------

    def get_vectors(self, ids: Sequence[str]) -> dict[str, tuple[list[float], SparseVector]]:
        if not ids:
            return {}
        with self._remote_errors():
            records = self._open().retrieve(
                self._collection, list(ids), with_payload=False, with_vectors=True
            )
        return {str(record.id): _vectors_of(record) for record in records}

    def get_payloads(
        self, ids: Sequence[str], fields: Sequence[str] | None = None
    ) -> dict[str, dict[str, object]]:
        if not ids:
            return {}
        selector: bool | list[str] = list(fields) if fields is not None else True
        with self._remote_errors():
            records = self._open().retrieve(
                self._collection, list(ids), with_payload=selector, with_vectors=False
            )
        return {str(record.id): dict(record.payload or {}) for record in records}

    def search_dense(
        self, vector: Sequence[float], limit: int, where: StoreFilter | None = None
    ) -> list[ScoredId]:
        if limit <= 0:
            return []
        return self._query([float(x) for x in vector], DENSE_VECTOR, limit, where)

    def search_sparse(
        self, vector: SparseVector, limit: int, where: StoreFilter | None = None
    ) -> list[ScoredId]:
        if limit <= 0 or not vector.indices:
            return []
        sparse = models.SparseVector(
            indices=list(vector.indices), values=[float(v) for v in vector.values]
        )
        return self._query(sparse, SPARSE_VECTOR, limit, where)

    def iter_ids(self) -> Iterator[str]:
        offset: models.ExtendedPointId | None = None
        while True:
            with self._remote_errors():
                records, offset = self._open().scroll(
                    self._collection,
                    limit=SCROLL_PAGE,
                    offset=offset,
                    with_payload=False,
                    with_vectors=False,
                )
            for record in records:
                yield str(record.id)
            if offset is None:
                return

    def count(self) -> int:
        with self._remote_errors():
            return self._open().count(self._collection, exact=True).count

    # -- lifecycle -----------------------------------------------------------

    def flush(self) -> None:
        """Nothing to do: every write waits until the server (or local file) has it."""
        self._open()

    def close(self) -> None:
        """Release the client (and, in local mode, the directory lock); idempotent."""
        client, self._client = self._client, None
        if client is not None:
            client.close()

    # -- helpers -------------------------------------------------------------

    def _connect(self, api_key: str | None, timeout: float) -> QdrantClient:
        if self._path is not None:
            try:
                return QdrantClient(path=str(self._path))
            except RuntimeError as exc:
                if "already accessed" in str(exc):
                    raise StoreLockedError(self._path) from exc
                raise
        return QdrantClient(
            url=self._url,
            api_key=api_key,
            timeout=max(1, math.ceil(timeout)),
            check_compatibility=False,
        )

    def _open(self) -> QdrantClient:
        if self._client is None:
            raise StoreError(f"the store {self._location} is closed")
        return self._client

    @contextmanager
    def _remote_errors(self) -> Iterator[None]:
        """Translate transport failures into `StoreUnavailableError`."""
        url = self._url or str(self._path)
        try:
            yield
        except (ResponseHandlingException, httpx.TransportError, ConnectionError) as exc:
            raise StoreUnavailableError(url, exc) from exc
        except UnexpectedResponse as exc:
            if exc.status_code in _AUTH_STATUSES:
                raise StoreUnavailableError(url, exc) from exc
            raise StoreError(f"{self._location}: the server refused the request: {exc}") from exc

    def _ensure_collection(self) -> None:
        client = self._open()
        if client.collection_exists(self._collection):
            self._check_schema(client.get_collection(self._collection))
        else:
            client.create_collection(
                self._collection,
                vectors_config={
                    DENSE_VECTOR: models.VectorParams(
                        size=self._dim, distance=models.Distance.COSINE
                    )
                },
                sparse_vectors_config={
                    SPARSE_VECTOR: models.SparseVectorParams(modifier=models.Modifier.IDF)
                },
            )
        if self._url is not None:  # local mode has no payload indexes (and warns about them)
            for field in KEYWORD_FIELDS:
                client.create_payload_index(
                    self._collection, field, field_schema=models.PayloadSchemaType.KEYWORD
                )

    def _check_schema(self, info: models.CollectionInfo) -> None:
        vectors = info.config.params.vectors
        dense = vectors.get(DENSE_VECTOR) if isinstance(vectors, dict) else None
        if dense is None:
            raise StoreSchemaError(
                self._location, f"no dense vector named {DENSE_VECTOR!r}", "the mochi schema"
            )
        if dense.size != self._dim:
            raise StoreSchemaError.dense_dim(self._location, dense.size, self._dim)
        if dense.distance != models.Distance.COSINE:
            raise StoreSchemaError(self._location, f"{dense.distance} distance", "cosine distance")
        sparse = (info.config.params.sparse_vectors or {}).get(SPARSE_VECTOR)
        if sparse is None or sparse.modifier != models.Modifier.IDF:
            raise StoreSchemaError(
                self._location,
                f"no sparse vector {SPARSE_VECTOR!r} with the IDF modifier",
                "one",
            )

    def _query(
        self,
        query: list[float] | models.SparseVector,
        using: str,
        limit: int,
        where: StoreFilter | None,
    ) -> list[ScoredId]:
        with self._remote_errors():
            response = self._open().query_points(
                self._collection,
                query=query,
                using=using,
                query_filter=_client_filter(where),
                limit=limit,
                with_payload=False,
                with_vectors=False,
            )
        return [ScoredId(str(point.id), float(point.score)) for point in response.points]


def _client_filter(where: StoreFilter | None) -> models.Filter | None:
    conditions = filter_conditions(where)
    if not conditions:
        return None
    return models.Filter(
        must=[
            models.FieldCondition(
                key=condition.key,
                match=models.MatchValue(value=condition.values[0])
                if len(condition.values) == 1
                else models.MatchAny(any=list(condition.values)),
            )
            for condition in conditions
        ]
    )


def _to_point_struct(point: StoredPoint) -> models.PointStruct:
    sparse = models.SparseVector(
        indices=list(point.sparse.indices), values=[float(v) for v in point.sparse.values]
    )
    return models.PointStruct(
        id=point.id,
        vector={DENSE_VECTOR: [float(x) for x in point.dense], SPARSE_VECTOR: sparse},
        payload=dict(point.payload),
    )


def _vectors_of(record: models.Record) -> tuple[list[float], SparseVector]:
    vectors = record.vector
    if not isinstance(vectors, dict):
        raise StoreError(f"point {record.id} has no named vectors")
    dense = vectors.get(DENSE_VECTOR)
    sparse = vectors.get(SPARSE_VECTOR)
    dense_list = (
        [float(x) for x in dense if isinstance(x, int | float)] if isinstance(dense, list) else []
    )
    if isinstance(sparse, models.SparseVector):
        return dense_list, SparseVector(tuple(sparse.indices), tuple(sparse.values))
    return dense_list, SparseVector((), ())
