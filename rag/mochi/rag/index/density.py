"""How crowded each chunk's neighbourhood is, for the retriever's hub penalty.

Dense retrieval suffers from hubs: chunks that sit close to many others
(boilerplate, near-copies, generic helpers) come up for queries they do not
answer. As in CSLS (Conneau et al., 2018, "Word translation without parallel
data"), every chunk stores `density`, the mean cosine similarity of its k
nearest other chunks, and the retriever ranks dense hits by
cosine − penalty · density.

`DensityKeeper` keeps the field current. After a sync, the new chunks, the
chunks they landed next to and the neighbours of deleted chunks are recomputed
with k-NN searches in the store; when a lot changed (a first index, a rebuild)
every density is recomputed at once in numpy blocks, far cheaper than one
search per chunk. The manifest marks densities stale before a sync writes and
clean after the pass, so a crash in between means a full pass next time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from mochi.rag.index.manifest import Manifest
from mochi.rag.protocols import VectorStore
from mochi.rag.store.schema import DENSITY_FIELD

STALE_KEY = "density_stale"
NEIGHBOURS_KEY = "density_neighbours"
PAGE = 1024


def bulk_densities(matrix: np.ndarray, k: int, block: int = PAGE) -> np.ndarray:
    """Mean cosine similarity of each row's k nearest other rows (blockwise, O(n²·d))."""
    n = len(matrix)
    if n <= 1 or k <= 0:
        return np.zeros(n, dtype=np.float32)
    unit = matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
    kk = min(k, n - 1)
    out = np.empty(n, dtype=np.float32)
    for start in range(0, n, block):
        sims = unit[start : start + block] @ unit.T
        rows = np.arange(sims.shape[0])
        sims[rows, start + rows] = -np.inf  # not its own neighbour
        top = np.partition(sims, n - kk, axis=1)[:, n - kk :]
        out[start : start + len(rows)] = top.mean(axis=1)
    return out


class DensityKeeper:
    """Maintains `density` in the store's payloads across syncs."""

    def __init__(self, store: VectorStore, manifest: Manifest, neighbours: int) -> None:
        if neighbours < 0:
            raise ValueError("neighbours must be >= 0")
        self._store = store
        self._manifest = manifest
        self._k = neighbours
        self._affected: set[str] = set()

    @property
    def enabled(self) -> bool:
        return self._k > 0

    def needs_full_pass(self) -> bool:
        """A crash left densities stale, or they were computed with another k."""
        if not self.enabled:
            return False
        stale = self._manifest.get_meta(STALE_KEY) == "1"
        return stale or self._manifest.get_meta(NEIGHBOURS_KEY) != str(self._k)

    def mark_stale(self) -> None:
        if self.enabled:
            self._manifest.set_meta(STALE_KEY, "1")

    def before_delete(self, ids: Sequence[str]) -> None:
        """Remember the neighbours of points about to go: their densities drop."""
        if not self.enabled or not ids:
            return
        for point_id, (vector, _) in self._store.get_vectors(ids).items():
            hits = self._store.search_dense(vector, self._k + 1)
            self._affected.update(h.id for h in hits if h.id != point_id)

    def refresh(self, changed: Iterable[str], full: bool = False) -> int:
        """Recompute the densities of `changed` points and those near them (or of
        every point when `full` or when that is cheaper); returns how many were set."""
        if not self.enabled:
            return 0
        targets = set(changed) | self._affected
        self._affected = set()
        total = self._store.count()
        searches = len(targets) * (self._k + 2)
        if full or searches > max(64, total // 4):
            written = self._full_pass()
        else:
            written = self._incremental(targets)
        self._manifest.set_meta(NEIGHBOURS_KEY, str(self._k))
        self._manifest.set_meta(STALE_KEY, "0")
        return written

    def _full_pass(self) -> int:
        ids = list(self._store.iter_ids())
        if not ids:
            return 0
        rows: list[list[float]] = []
        kept: list[str] = []
        for start in range(0, len(ids), PAGE):
            page = ids[start : start + PAGE]
            vectors = self._store.get_vectors(page)
            for point_id in page:
                if point_id in vectors:
                    kept.append(point_id)
                    rows.append(vectors[point_id][0])
        densities = bulk_densities(np.asarray(rows, dtype=np.float32), self._k)
        self._write(dict(zip(kept, (float(d) for d in densities), strict=True)))
        return len(kept)

    def _incremental(self, targets: set[str]) -> int:
        densities: dict[str, float] = {}
        near: set[str] = set()
        for point_id, (vector, _) in self._store.get_vectors(sorted(targets)).items():
            others = self._neighbours(point_id, vector)
            densities[point_id] = _mean(h[1] for h in others)
            near.update(h[0] for h in others)
        for point_id, (vector, _) in self._store.get_vectors(sorted(near - targets)).items():
            densities[point_id] = _mean(h[1] for h in self._neighbours(point_id, vector))
        self._write(densities)
        return len(densities)

    def _neighbours(self, point_id: str, vector: Sequence[float]) -> list[tuple[str, float]]:
        hits = self._store.search_dense(vector, self._k + 1)
        return [(h.id, h.score) for h in hits if h.id != point_id][: self._k]

    def _write(self, densities: dict[str, float]) -> None:
        self._store.merge_payloads({i: {DENSITY_FIELD: round(d, 6)} for i, d in densities.items()})


def _mean(values: Iterable[float]) -> float:
    items = list(values)
    return sum(items) / len(items) if items else 0.0
