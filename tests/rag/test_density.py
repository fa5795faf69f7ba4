"""Neighbourhood densities (the hub penalty's input): computed right, kept current, used.

The store is the real Qdrant Edge shard and the manifest the real SQLite file; the
reference is a brute-force numpy k-NN written independently of the code under test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from git_repo import GitRepo
from hashing_embedder import HashingEmbedder

from mochi.rag.config import ConfigError, RagConfig, load_workspace_config
from mochi.rag.index import open_workspace_index
from mochi.rag.index.density import DensityKeeper, bulk_densities
from mochi.rag.index.manifest import Manifest
from mochi.rag.retrieval import HybridRetriever
from mochi.rag.store import EdgeVectorStore
from mochi.rag.store.schema import DENSITY_FIELD
from mochi.rag.types import SparseVector, StoredPoint

DIM = 12
K = 3


def reference(vectors: dict[str, np.ndarray], k: int) -> dict[str, float]:
    """Mean cosine of the k most similar other points, by sorting every similarity."""
    unit = {i: v / np.linalg.norm(v) for i, v in vectors.items()}
    out = {}
    for i, v in unit.items():
        sims = sorted((float(v @ w) for j, w in unit.items() if j != i), reverse=True)
        out[i] = sum(sims[:k]) / min(k, len(sims))
    return out


def point(point_id: str, vector: np.ndarray) -> StoredPoint:
    return StoredPoint(point_id, tuple(float(x) for x in vector), SparseVector((), ()), {})


def pid(n: int) -> str:
    return f"00000000-0000-0000-0000-{n:012d}"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EdgeVectorStore]:
    s = EdgeVectorStore(tmp_path / "edge", DIM)
    yield s
    s.close()


@pytest.fixture
def manifest(tmp_path: Path) -> Iterator[Manifest]:
    m = Manifest(tmp_path / "manifest.sqlite")
    yield m
    m.close()


def stored_densities(store: EdgeVectorStore, ids: list[str]) -> dict[str, float]:
    payloads = store.get_payloads(ids, fields=[DENSITY_FIELD])
    return {i: float(str(p[DENSITY_FIELD])) for i, p in payloads.items() if DENSITY_FIELD in p}


def test_bulk_densities_match_brute_force() -> None:
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(50, DIM)).astype(np.float32)
    expected = reference({str(i): row for i, row in enumerate(matrix)}, K)
    got = bulk_densities(matrix, K, block=7)  # several blocks, a ragged last one
    assert got == pytest.approx([expected[str(i)] for i in range(50)], abs=1e-5)
    assert bulk_densities(matrix[:1], K).tolist() == [0.0]  # a lone point has no neighbours


def test_full_then_incremental_refresh_agree_with_brute_force(
    store: EdgeVectorStore, manifest: Manifest
) -> None:
    rng = np.random.default_rng(1)
    vectors = {pid(i): rng.normal(size=DIM) for i in range(40)}
    store.upsert([point(i, v) for i, v in vectors.items()])
    keeper = DensityKeeper(store, manifest, K)
    assert keeper.needs_full_pass()  # never computed
    keeper.mark_stale()
    assert keeper.refresh([], full=True) == 40
    assert not keeper.needs_full_pass()
    assert stored_densities(store, list(vectors)) == pytest.approx(reference(vectors, K), abs=1e-4)

    # A new point right next to an existing one: its density and its neighbours' change.
    anchor = vectors[pid(5)]
    vectors[pid(100)] = anchor + 0.01 * rng.normal(size=DIM)
    store.upsert([point(pid(100), vectors[pid(100)])])
    written = keeper.refresh([pid(100)])
    assert 1 < written < 41  # incremental: the point and its neighbourhood, not everything
    expected = reference(vectors, K)
    got = stored_densities(store, list(vectors))
    assert got[pid(100)] == pytest.approx(expected[pid(100)], abs=1e-4)
    assert got[pid(5)] == pytest.approx(expected[pid(5)], abs=1e-4)
    assert got[pid(5)] > reference({k: v for k, v in vectors.items() if k != pid(100)}, K)[pid(5)]

    # Deleting it again: the neighbour's density drops back.
    keeper.before_delete([pid(100)])
    store.delete([pid(100)])
    del vectors[pid(100)]
    keeper.refresh([])
    assert stored_densities(store, [pid(5)])[pid(5)] == pytest.approx(
        reference(vectors, K)[pid(5)], abs=1e-4
    )


def test_a_crash_between_writes_and_the_pass_forces_a_full_pass(
    store: EdgeVectorStore, manifest: Manifest
) -> None:
    store.upsert([point(pid(i), np.eye(DIM)[i % DIM] + i) for i in range(6)])
    keeper = DensityKeeper(store, manifest, K)
    keeper.mark_stale()
    keeper.refresh([], full=True)
    keeper.mark_stale()  # a sync started writing ... and the process died
    assert DensityKeeper(store, manifest, K).needs_full_pass()
    assert DensityKeeper(store, manifest, K + 1).needs_full_pass() is True  # another k
    assert not DensityKeeper(store, manifest, 0).needs_full_pass()  # off


def test_sync_keeps_densities_and_no_change_costs_nothing(
    git_repo: GitRepo, tmp_path: Path, hashing_embedder: HashingEmbedder
) -> None:
    for i in range(6):
        git_repo.write(f"pkg/m{i}.py", f"def f{i}(x):\n    return x * {i} + {i * i}\n")
    git_repo.commit("six modules")
    config = RagConfig(data_dir=str(tmp_path / "data"))
    config.index.density_neighbours = K
    with open_workspace_index(git_repo.root, config, embedder=hashing_embedder) as index:
        first = index.sync()
        assert first.seconds_density > 0
        ids = list(index.store.iter_ids())
        vectors = {i: np.array(v) for i, (v, _) in index.store.get_vectors(ids).items()}
        assert stored_densities(index.store, ids) == pytest.approx(reference(vectors, K), abs=1e-4)
        assert index.sync().seconds_density == 0.0  # nothing changed, nothing computed

        # Lines shift, text does not: the chunk moves and keeps its density.
        before = stored_densities(index.store, ids)
        (git_repo.root / "pkg/m3.py").write_text("\n\n" + (git_repo.root / "pkg/m3.py").read_text())
        assert index.sync().chunks_moved == 1
        assert stored_densities(index.store, ids) == before

        (git_repo.root / "pkg/m2.py").write_text("def f2(x):\n    return -x\n")
        index.sync()
        ids = list(index.store.iter_ids())
        vectors = {i: np.array(v) for i, (v, _) in index.store.get_vectors(ids).items()}
        new = [i for i, p in index.store.get_payloads(ids).items() if p.get("path") == "pkg/m2.py"]
        assert new
        expected = reference(vectors, K)
        got = stored_densities(index.store, ids)
        assert set(got) == set(ids)  # every point has one
        for i in new:
            assert got[i] == pytest.approx(expected[i], abs=1e-4)


def test_hub_penalty_demotes_a_chunk_close_to_everything(
    store: EdgeVectorStore, manifest: Manifest
) -> None:
    """A hub slightly closer to the query than the specific chunk wins on cosine and
    loses once its crowded neighbourhood is charged for."""
    basis = np.eye(DIM)
    specific = basis[0] + 0.2 * basis[1]
    hub = basis[0] + basis[1] + basis[2] + basis[3]
    crowd = [hub + 0.3 * basis[4 + j] for j in range(6)]  # near the hub (and the query)
    store.upsert(
        [point(pid(1), specific), point(pid(2), hub)]
        + [point(pid(10 + j), v) for j, v in enumerate(crowd)]
    )
    DensityKeeper(store, manifest, K).refresh([], full=True)
    query = basis[0] + 0.5 * basis[1] + 0.5 * basis[2] + 0.5 * basis[3]

    class FixedEmbedder(HashingEmbedder):
        def embed_query(self, text: str) -> list[float]:
            return [float(x) for x in query]

    embedder = FixedEmbedder(dim=DIM)

    def top(penalty: float) -> str:
        retriever = HybridRetriever(
            store=store, embedder=embedder, sparse=_NoSparse(), hub_penalty=penalty
        )
        return retriever.ranked_ids("anything", 10, mode="dense")[0].id

    assert top(0.0) == pid(2)
    assert top(0.5) == pid(1)


class _NoSparse:
    def encode_passage(self, text: str) -> SparseVector:
        return SparseVector((), ())

    def encode_query(self, text: str) -> SparseVector:
        return SparseVector((), ())


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [("retrieval", "hub_penalty", 1.5), ("index", "density_neighbours", -1)],
)
def test_bad_density_settings_name_the_key(
    tmp_path: Path, section: str, key: str, value: float
) -> None:
    (tmp_path / ".mochi.toml").write_text(f"[{section}]\n{key} = {value}\n")
    with pytest.raises(ConfigError, match=f"{section}.{key}"):
        load_workspace_config(RagConfig, tmp_path, environ={})
