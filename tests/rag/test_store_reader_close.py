"""An Edge store that was only read from (`mochi search`) closes without a flush: a
tenth of a second of every search in a fresh process. One that was written to still
flushes, and what it wrote is there when the shard is opened again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qdrant_edge import EdgeShard

from mochi.rag.store import EdgeVectorStore
from mochi.rag.types import SparseVector, StoredPoint


class ShardSpy:
    """The shard, counting its flushes."""

    def __init__(self, shard: EdgeShard) -> None:
        self._shard = shard
        self.flushes = 0

    def flush(self) -> None:
        self.flushes += 1
        self._shard.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._shard, name)


def spied(store: EdgeVectorStore) -> ShardSpy:
    spy = ShardSpy(store.edge_shard)
    store._shard = spy  # type: ignore[assignment]
    return spy


def point(i: int) -> StoredPoint:
    dense = tuple(float(i == j) for j in range(4))
    return StoredPoint(
        f"00000000-0000-0000-0000-00000000000{i}",
        dense,
        SparseVector((i,), (1.0,)),
        {"path": f"f{i}.py"},
    )


def test_a_store_only_read_from_closes_without_flushing(tmp_path: Path) -> None:
    writer = EdgeVectorStore(tmp_path / "edge", 4)
    writer.upsert([point(1), point(2)])
    writer.close()

    reader = EdgeVectorStore(tmp_path / "edge", 4)
    spy = spied(reader)
    assert [h.id for h in reader.search_dense([0.0, 1.0, 0.0, 0.0], 1)] == [point(1).id]
    assert reader.get_payloads([point(2).id]) == {point(2).id: {"path": "f2.py"}}
    reader.flush()
    reader.close()
    assert spy.flushes == 0

    writer = EdgeVectorStore(tmp_path / "edge", 4)
    spy = spied(writer)
    writer.delete([point(1).id])
    writer.close()
    assert spy.flushes == 1
    again = EdgeVectorStore(tmp_path / "edge", 4)
    try:
        assert list(again.iter_ids()) == [point(2).id]
    finally:
        again.close()
