"""The embedded back end: one Qdrant Edge shard in a directory, in this process."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from qdrant_edge import (
    CountRequest,
    Distance,
    EdgeConfig,
    EdgeShard,
    EdgeSparseVectorParams,
    EdgeVectorParams,
    FieldCondition,
    Filter,
    IdfParams,
    MatchAny,
    MatchValue,
    Modifier,
    PayloadSchemaType,
    PayloadSelector,
    Point,
    Query,
    QueryRequest,
    Record,
    ScoredPoint,
    ScrollRequest,
    SearchParams,
    UpdateOperation,
)
from qdrant_edge import SparseVector as EdgeSparseVector

from mochi.rag.store.errors import StoreError, StoreLockedError, StoreSchemaError
from mochi.rag.store.schema import (
    DENSE_VECTOR,
    KEYWORD_FIELDS,
    SPARSE_VECTOR,
    filter_conditions,
)
from mochi.rag.types import ScoredId, SparseVector, StoredPoint, StoreFilter

if TYPE_CHECKING:
    from qdrant_edge import PointId  # a stub-only alias: int | UUID | str

UPSERT_BATCH = 256
SCROLL_PAGE = 256
_CONFIG_FILE = "edge_config.json"  # where Edge persists its config (read for error messages)


class EdgeVectorStore:
    """A `VectorStore` over a Qdrant Edge shard at `path` (created when absent).

    Search is exact until `optimize()` builds the HNSW index. `optimize()` holds the
    GIL for its whole run (other Python threads stall too), so it is never called
    implicitly: the caller runs it where that is acceptable, e.g. at the end of a
    full `mochi index`, not inside the language server's process.
    """

    def __init__(self, path: Path, dim: int) -> None:
        if dim <= 0:
            raise ValueError(f"dim must be positive, got {dim}")
        self._path = path
        self._dim = dim
        self._shard: EdgeShard | None = _open_shard(path, dim)
        # Written through this object since the last flush: a reader (`mochi search`)
        # then neither flushes nor waits for a flush when it closes.
        self._dirty = False
        try:
            self._ensure_payload_indexes()
        except BaseException:
            self.close()
            raise

    @property
    def path(self) -> Path:
        return self._path

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def edge_shard(self) -> EdgeShard:
        """The Edge shard itself (benchmarks time it against this layer)."""
        return self._open()

    # -- writes --------------------------------------------------------------

    def upsert(self, points: Sequence[StoredPoint]) -> None:
        for start in range(0, len(points), UPSERT_BATCH):
            batch = [_to_edge_point(point) for point in points[start : start + UPSERT_BATCH]]
            self._update(UpdateOperation.upsert_points(batch))

    def delete(self, ids: Sequence[str]) -> None:
        if ids:
            self._update(UpdateOperation.delete_points(list(ids)))

    def set_payloads(self, payloads: Mapping[str, dict[str, object]]) -> None:
        for point_id, payload in payloads.items():
            self._update(UpdateOperation.overwrite_payload([point_id], dict(payload)))

    def merge_payloads(self, payloads: Mapping[str, dict[str, object]]) -> None:
        for point_id, payload in payloads.items():
            self._update(UpdateOperation.set_payload([point_id], dict(payload)))

    # -- reads ---------------------------------------------------------------

    def get_vectors(self, ids: Sequence[str]) -> dict[str, tuple[list[float], SparseVector]]:
        if not ids:
            return {}
        records = self._open().retrieve(list(ids), with_payload=False, with_vector=True)
        return {_id_str(record.id): _vectors_of(record) for record in records}

    def get_payloads(
        self, ids: Sequence[str], fields: Sequence[str] | None = None
    ) -> dict[str, dict[str, object]]:
        if not ids:
            return {}
        selector = PayloadSelector.Include(list(fields)) if fields is not None else True
        records = self._open().retrieve(list(ids), with_payload=selector, with_vector=False)
        # Each `record.payload` is a dict built for this call: no copy needed.
        return {_id_str(record.id): record.payload or {} for record in records}

    def search_dense(
        self, vector: Sequence[float], limit: int, where: StoreFilter | None = None
    ) -> list[ScoredId]:
        if limit <= 0:
            return []
        query = Query.Nearest([float(x) for x in vector], using=DENSE_VECTOR)
        return self._query(query, limit, where)

    def search_sparse(
        self, vector: SparseVector, limit: int, where: StoreFilter | None = None
    ) -> list[ScoredId]:
        if limit <= 0 or not vector.indices:
            return []
        query = Query.Nearest(edge_sparse(vector), using=SPARSE_VECTOR)
        return self._query(query, limit, where, live_idf())

    def iter_ids(self) -> Iterator[str]:
        offset: PointId | None = None
        while True:
            request = ScrollRequest(
                offset=offset, limit=SCROLL_PAGE, with_payload=False, with_vector=False
            )
            records, offset = self._open().scroll(request)
            for record in records:
                yield _id_str(record.id)
            if offset is None:
                return

    def count(self) -> int:
        return self._open().count(CountRequest(exact=True))

    # -- lifecycle -----------------------------------------------------------

    def flush(self) -> None:
        """Persist what this object wrote (nothing to do when it only read)."""
        shard = self._open()
        if self._dirty:
            shard.flush()
            self._dirty = False

    def optimize(self) -> bool:
        """Build the HNSW and sparse indexes; blocks (and holds the GIL) until done.

        Returns True when any segment was optimised.
        """
        self._dirty = True
        return self._open().optimize()

    def close(self) -> None:
        """Flush (when written to) and release the shard (and its lock); closing twice is
        harmless."""
        shard, self._shard = self._shard, None
        if shard is not None:
            try:
                if self._dirty:
                    shard.flush()
            finally:
                self._dirty = False
                shard.close()

    # -- helpers -------------------------------------------------------------

    def _open(self) -> EdgeShard:
        if self._shard is None:
            raise StoreError(f"the index at {self._path} is closed")
        return self._shard

    def _query(
        self,
        query: Query,
        limit: int,
        where: StoreFilter | None,
        params: SearchParams | None = None,
    ) -> list[ScoredId]:
        request = QueryRequest(
            limit=limit,
            query=query,
            filter=_edge_filter(where),
            params=params,
            with_payload=False,
            with_vector=False,
        )
        return [_scored(point) for point in self._open().query(request)]

    def _update(self, operation: UpdateOperation) -> None:
        self._dirty = True
        self._open().update(operation)

    def _ensure_payload_indexes(self) -> None:
        shard = self._open()
        present = shard.info().payload_schema
        for field in KEYWORD_FIELDS:
            if field not in present:
                self._update(UpdateOperation.create_field_index(field, PayloadSchemaType.Keyword))


def edge_config(dim: int) -> EdgeConfig:
    """The shared schema (see `schema`) in Edge's terms."""
    return EdgeConfig(
        vectors={DENSE_VECTOR: EdgeVectorParams(size=dim, distance=Distance.Cosine)},
        sparse_vectors={SPARSE_VECTOR: EdgeSparseVectorParams(modifier=Modifier.Idf)},
    )


def _open_shard(path: Path, dim: int) -> EdgeShard:
    """Create the shard when `path` is absent or empty, otherwise load and check it."""
    config = edge_config(dim)
    fresh = not path.exists() or (path.is_dir() and not any(path.iterdir()))
    if not fresh:
        stored = _stored_dense_dim(path)
        if stored is not None and stored != dim:
            raise StoreSchemaError.dense_dim(str(path), stored, dim)
    try:
        return EdgeShard.create(str(path), config) if fresh else EdgeShard.load(str(path), config)
    except Exception as exc:
        message = str(exc)
        if "WouldBlock" in message or "failed to open WAL" in message:
            raise StoreLockedError(path) from exc
        if "ncompatible" in message:
            stored = _stored_dense_dim(path)
            if stored is not None and stored != dim:
                raise StoreSchemaError.dense_dim(str(path), stored, dim) from exc
            raise StoreSchemaError(
                str(path), f"an incompatible schema ({message})", "mochi's schema"
            ) from exc
        raise StoreError(f"cannot open the index at {path}: {message}") from exc


def _stored_dense_dim(path: Path) -> int | None:
    """The dense size recorded in the shard's config file, None when unknown."""
    try:
        config = json.loads((path / _CONFIG_FILE).read_text(encoding="utf-8"))
        size = config["vectors"][DENSE_VECTOR]["size"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return size if isinstance(size, int) else None


def _edge_filter(where: StoreFilter | None) -> Filter | None:
    conditions = filter_conditions(where)
    if not conditions:
        return None
    return Filter(
        must=[
            FieldCondition(
                key=condition.key,
                match=MatchValue(condition.values[0])
                if len(condition.values) == 1
                else MatchAny(list(condition.values)),
            )
            for condition in conditions
        ]
    )


def live_idf() -> SearchParams:
    """IDF over the live points: by default Edge keeps counting deleted points until the
    shard is reopened, so a re-index would skew term weights for the session."""
    return SearchParams(idf=IdfParams(corpus=Filter()))


def edge_sparse(vector: SparseVector) -> EdgeSparseVector:
    return EdgeSparseVector(list(vector.indices), [float(v) for v in vector.values])


def _to_edge_point(point: StoredPoint) -> Point:
    sparse = edge_sparse(point.sparse)
    return Point(
        id=point.id,
        vector={DENSE_VECTOR: [float(x) for x in point.dense], SPARSE_VECTOR: sparse},
        payload=dict(point.payload),
    )


def _vectors_of(record: Record) -> tuple[list[float], SparseVector]:
    vectors = record.vector
    if not isinstance(vectors, dict):
        raise StoreError(f"point {record.id} has no named vectors")
    dense = vectors.get(DENSE_VECTOR)
    sparse = vectors.get(SPARSE_VECTOR)
    dense_list = (
        [float(x) for x in dense if isinstance(x, int | float)] if isinstance(dense, list) else []
    )
    if isinstance(sparse, EdgeSparseVector):
        return dense_list, SparseVector(tuple(sparse.indices), tuple(sparse.values))
    return dense_list, SparseVector((), ())


def _scored(point: ScoredPoint) -> ScoredId:
    return ScoredId(_id_str(point.id), float(point.score))


def _id_str(point_id: PointId) -> str:
    """Edge answers with `uuid.UUID`; the protocol speaks canonical UUID strings."""
    return str(point_id)
