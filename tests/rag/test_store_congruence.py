"""The vector-store suite, run against every back end.

Each back end is checked against a brute-force numpy reference (cosine for dense,
dot product with Qdrant's IDF for sparse, Python predicates for filters), and the
back ends are checked against each other, in the manner of qdrant-client's
congruence tests. qdrant-client's local mode stands in for a Qdrant server.
"""

from __future__ import annotations

import math
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest

from mochi.rag.protocols import VectorStore
from mochi.rag.store import (
    EdgeVectorStore,
    QdrantServerVectorStore,
    StoreError,
    StoreLockedError,
    StoreSchemaError,
    StoreUnavailableError,
    dirs_of,
)
from mochi.rag.store.schema import filter_conditions
from mochi.rag.types import ScoredId, SparseVector, StoredPoint, StoreFilter

DIM = 16
N_POINTS = 300
VOCAB = 80
K = 10
SCORE_TOL = 1e-4

LANGUAGES = ("python", "go", "rust", "markdown")
KINDS = ("function", "class", "section", "window")
SOURCES = ("code", "doc", "commit")
DIRECTORIES = ("rag/mochi/rag", "rag/mochi", "rag/tests", "ragtime", "server/mochi", "docs", "")

FILTERS = (
    StoreFilter(),
    StoreFilter(languages=("python",)),
    StoreFilter(kinds=("function", "class")),
    StoreFilter(sources=("doc",)),
    StoreFilter(dir_prefix="rag"),
    StoreFilter(dir_prefix="./rag/mochi/"),
    StoreFilter(dir_prefix="ragtime"),
    StoreFilter(languages=("python", "go"), kinds=("function",), dir_prefix="rag"),
    StoreFilter(languages=("rust",), sources=("code", "commit"), kinds=("window",)),
    StoreFilter(dir_prefix="no/such/dir"),
)

Opener = Callable[[Path, int], VectorStore]


# -- the back ends -------------------------------------------------------------------


def open_edge(root: Path, dim: int) -> VectorStore:
    return EdgeVectorStore(root / "edge", dim)


def open_qdrant_local(root: Path, dim: int) -> VectorStore:
    return QdrantServerVectorStore(path=root / "qdrant", collection="chunks", dim=dim)


BACKENDS: dict[str, Opener] = {"edge": open_edge, "qdrant-local": open_qdrant_local}


# -- the corpus and the reference ----------------------------------------------------


@dataclass(frozen=True)
class Corpus:
    points: list[StoredPoint]
    dense_queries: list[list[float]]
    sparse_queries: list[SparseVector]


def make_corpus(seed: int = 7) -> Corpus:
    rng = np.random.default_rng(seed)
    points = []
    for n in range(N_POINTS):
        directory = DIRECTORIES[int(rng.integers(len(DIRECTORIES)))]
        path = f"{directory}/f{n}.py" if directory else f"f{n}.py"
        # Zipf-like term choice, so document frequencies (and IDF) differ widely.
        terms = np.unique((rng.zipf(1.4, size=int(rng.integers(1, 12))) - 1) % VOCAB)
        points.append(
            StoredPoint(
                id=str(uuid.UUID(int=int(rng.integers(1 << 62)) << 64 | n)),
                dense=tuple(float(x) for x in rng.standard_normal(DIM)),
                sparse=SparseVector(
                    tuple(int(t) for t in terms),
                    tuple(float(v) for v in rng.uniform(0.1, 3.0, len(terms))),
                ),
                payload={
                    "path": path,
                    "language": LANGUAGES[int(rng.integers(len(LANGUAGES)))],
                    "kind": KINDS[int(rng.integers(len(KINDS)))],
                    "source": SOURCES[int(rng.integers(len(SOURCES)))],
                    "dirs": dirs_of(path),
                    "text": f"chunk {n}",
                },
            )
        )
    dense_queries = [list(rng.standard_normal(DIM)) for _ in range(4)]
    # A query that is (nearly) a stored vector: its point must come first.
    dense_queries.append([x + 0.01 for x in points[42].dense])
    sparse_queries = [
        SparseVector((0,), (1.0,)),  # the most common term
        SparseVector((1, 5, 17), (1.0, 1.0, 1.0)),
        SparseVector((3, 40, 79), (0.5, 2.0, 1.0)),
        SparseVector(points[7].sparse.indices, tuple(1.0 for _ in points[7].sparse.indices)),
        SparseVector((VOCAB + 5,), (1.0,)),  # a term no point has
    ]
    return Corpus(points, dense_queries, sparse_queries)


def matches(payload: dict[str, object], where: StoreFilter) -> bool:
    """StoreFilter semantics, written independently of the stores' translation."""
    path = str(payload["path"])
    prefix = where.dir_prefix.removeprefix("./").strip("/")
    return (
        (not where.languages or payload["language"] in where.languages)
        and (not where.kinds or payload["kind"] in where.kinds)
        and (not where.sources or payload["source"] in where.sources)
        and (not prefix or path.startswith(prefix + "/"))
    )


def top(scored: dict[str, float], limit: int) -> list[tuple[str, float]]:
    return sorted(scored.items(), key=lambda item: -item[1])[:limit]


def reference_dense(
    points: Sequence[StoredPoint], query: Sequence[float], limit: int, where: StoreFilter
) -> list[tuple[str, float]]:
    q = np.asarray(query, dtype=np.float64)
    q /= np.linalg.norm(q)
    scored = {}
    for point in points:
        if matches(point.payload, where):
            v = np.asarray(point.dense, dtype=np.float64)
            scored[point.id] = float(v @ q / np.linalg.norm(v))
    return top(scored, limit)


def idf(n_docs: int, doc_freq: int) -> float:
    """Qdrant's IDF (the BM25 one): ln((N - n + 0.5) / (n + 0.5) + 1)."""
    return math.log((n_docs - doc_freq + 0.5) / (doc_freq + 0.5) + 1)


def reference_sparse(
    points: Sequence[StoredPoint], query: SparseVector, limit: int, where: StoreFilter
) -> list[tuple[str, float]]:
    """IDF is collection-wide (all live points), not limited to the filter."""
    doc_freq: dict[int, int] = {}
    for point in points:
        for term in point.sparse.indices:
            doc_freq[term] = doc_freq.get(term, 0) + 1
    weights = {
        term: value * idf(len(points), doc_freq.get(term, 0))
        for term, value in zip(query.indices, query.values, strict=True)
    }
    scored = {}
    for point in points:
        shared = [t for t in point.sparse.indices if t in weights]
        if shared and matches(point.payload, where):
            stored = dict(zip(point.sparse.indices, point.sparse.values, strict=True))
            scored[point.id] = sum(weights[t] * stored[t] for t in shared)
    return top(scored, limit)


def assert_same_ranking(
    got: Sequence[ScoredId], expected: Sequence[tuple[str, float]], context: str
) -> None:
    assert [hit.id for hit in got] == [pid for pid, _ in expected], context
    for hit, (_, score) in zip(got, expected, strict=True):
        assert hit.score == pytest.approx(score, abs=SCORE_TOL, rel=SCORE_TOL), context


# -- fixtures ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return make_corpus()


@pytest.fixture(params=sorted(BACKENDS))
def opener(request: pytest.FixtureRequest) -> Opener:
    return BACKENDS[str(request.param)]


@pytest.fixture
def store(opener: Opener, tmp_path: Path, corpus: Corpus) -> Iterator[VectorStore]:
    """A loaded store of its own, for tests that change it."""
    opened = opener(tmp_path, DIM)
    opened.upsert(corpus.points)
    yield opened
    opened.close()


@pytest.fixture(scope="module", params=sorted(BACKENDS))
def loaded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, corpus: Corpus
) -> Iterator[VectorStore]:
    """A loaded store shared by the read-only tests (local mode upserts are slow)."""
    opened = BACKENDS[str(request.param)](tmp_path_factory.mktemp("loaded"), DIM)
    opened.upsert(corpus.points)
    yield opened
    opened.close()


# -- every back end against the reference --------------------------------------------


def test_count_after_upsert(loaded: VectorStore) -> None:
    assert loaded.count() == N_POINTS


def test_dense_search_matches_brute_force(loaded: VectorStore, corpus: Corpus) -> None:
    for n, query in enumerate(corpus.dense_queries):
        expected = reference_dense(corpus.points, query, K, StoreFilter())
        assert_same_ranking(loaded.search_dense(query, K), expected, f"dense query {n}")
    assert loaded.search_dense(corpus.dense_queries[-1], 1)[0].id == corpus.points[42].id


def test_sparse_search_applies_qdrant_idf(loaded: VectorStore, corpus: Corpus) -> None:
    for n, query in enumerate(corpus.sparse_queries):
        expected = reference_sparse(corpus.points, query, K, StoreFilter())
        assert_same_ranking(loaded.search_sparse(query, K), expected, f"sparse query {n}")
    assert loaded.search_sparse(corpus.sparse_queries[-1], K) == []
    assert loaded.search_sparse(SparseVector((), ()), K) == []


@pytest.mark.parametrize("where", FILTERS, ids=repr)
def test_filtered_search_matches_reference(
    loaded: VectorStore, corpus: Corpus, where: StoreFilter
) -> None:
    allowed = {p.id for p in corpus.points if matches(p.payload, where)}
    for query in corpus.dense_queries:
        got = loaded.search_dense(query, K, where)
        assert {hit.id for hit in got} <= allowed
        assert_same_ranking(got, reference_dense(corpus.points, query, K, where), repr(where))
    for sparse in corpus.sparse_queries:
        got = loaded.search_sparse(sparse, K, where)
        assert_same_ranking(got, reference_sparse(corpus.points, sparse, K, where), repr(where))
    everything = loaded.search_dense(corpus.dense_queries[0], N_POINTS, where)
    assert {hit.id for hit in everything} == allowed


def test_filters_are_not_vacuous(corpus: Corpus) -> None:
    """Guards the filter test: each non-empty filter keeps some points and drops others."""
    for where in FILTERS[1:-1]:
        kept = sum(matches(p.payload, where) for p in corpus.points)
        assert 0 < kept < N_POINTS, where
    ragtime = [p for p in corpus.points if str(p.payload["path"]).startswith("ragtime/")]
    assert ragtime and not any(matches(p.payload, StoreFilter(dir_prefix="rag")) for p in ragtime)


def test_deleted_points_are_never_returned(store: VectorStore, corpus: Corpus) -> None:
    deleted = [p.id for p in corpus.points[::3]]
    store.delete(deleted)
    live = [p for p in corpus.points if p.id not in set(deleted)]
    assert store.count() == len(live)
    assert set(store.iter_ids()) == {p.id for p in live}
    for point in corpus.points[::3][:5]:  # search right at deleted points
        got = store.search_dense(point.dense, K)
        assert not {hit.id for hit in got} & set(deleted)
        assert_same_ranking(got, reference_dense(live, point.dense, K, StoreFilter()), "dense")
    for query in corpus.sparse_queries:  # IDF now counts only the live points
        got = store.search_sparse(query, K)
        assert_same_ranking(got, reference_sparse(live, query, K, StoreFilter()), "sparse")
    assert store.get_vectors(deleted[:3]) == {}
    assert store.get_payloads(deleted[:3]) == {}
    store.delete(deleted[:3])  # deleting again is harmless
    store.delete([])
    assert store.count() == len(live)


def test_set_payloads_overwrites_and_filters_see_it(store: VectorStore, corpus: Corpus) -> None:
    moved = {p.id: {**p.payload, "language": "zig", "extra": 1} for p in corpus.points[:30]}
    moved[corpus.points[0].id] = {"language": "zig"}  # a payload with fewer keys
    store.set_payloads(moved)
    assert store.get_payloads([corpus.points[0].id]) == {corpus.points[0].id: {"language": "zig"}}
    zig = store.search_dense(corpus.dense_queries[0], N_POINTS, StoreFilter(languages=("zig",)))
    assert {hit.id for hit in zig} == set(moved)
    by_dir = store.search_dense(corpus.dense_queries[0], N_POINTS, StoreFilter(dir_prefix="rag"))
    assert corpus.points[0].id not in {hit.id for hit in by_dir}  # its "dirs" went away
    assert store.count() == N_POINTS
    _, sparse = store.get_vectors([corpus.points[1].id])[corpus.points[1].id]
    assert sparse.indices == corpus.points[1].sparse.indices  # vectors are untouched
    np.testing.assert_allclose(sparse.values, corpus.points[1].sparse.values, rtol=1e-6)


def test_merge_payloads_keeps_other_keys_and_fields_select(
    store: VectorStore, corpus: Corpus
) -> None:
    wanted = corpus.points[:20]
    store.merge_payloads({p.id: {"density": 0.25 + i / 64} for i, p in enumerate(wanted)})
    ids = [p.id for p in wanted]
    full = store.get_payloads(ids)
    assert full == {p.id: {**p.payload, "density": 0.25 + i / 64} for i, p in enumerate(wanted)}
    only = store.get_payloads([*ids, corpus.points[30].id], fields=["density"])
    assert only[wanted[3].id] == {"density": 0.25 + 3 / 64}
    assert only[corpus.points[30].id] == {}  # present, without the field
    # Filters still see the merged points' indexed keys.
    language = str(wanted[0].payload["language"])
    hits = store.search_dense(corpus.dense_queries[0], N_POINTS, StoreFilter(languages=(language,)))
    assert wanted[0].id in {hit.id for hit in hits}


def test_get_vectors_round_trip(loaded: VectorStore, corpus: Corpus) -> None:
    wanted = corpus.points[10:20]
    missing = str(uuid.uuid4())
    got = loaded.get_vectors([p.id for p in wanted] + [missing])
    assert set(got) == {p.id for p in wanted}
    for point in wanted:
        dense, sparse = got[point.id]
        unit = np.asarray(point.dense) / np.linalg.norm(point.dense)  # cosine stores unit vectors
        np.testing.assert_allclose(dense, unit, atol=1e-6)
        assert sparse.indices == point.sparse.indices
        np.testing.assert_allclose(sparse.values, point.sparse.values, rtol=1e-6)
    assert loaded.get_vectors([]) == {}


def test_get_payloads_round_trip(loaded: VectorStore, corpus: Corpus) -> None:
    wanted = corpus.points[:5]
    assert loaded.get_payloads([p.id for p in wanted]) == {p.id: p.payload for p in wanted}


def test_upsert_replaces_an_existing_point(store: VectorStore, corpus: Corpus) -> None:
    old = corpus.points[5]
    new = replace(old, dense=tuple(-x for x in old.dense), payload={**old.payload, "kind": "new"})
    store.upsert([new])
    assert store.count() == N_POINTS
    assert store.search_dense(new.dense, 1)[0].id == old.id
    assert store.get_payloads([old.id])[old.id]["kind"] == "new"


def test_iter_ids_pages_through_everything(loaded: VectorStore, corpus: Corpus) -> None:
    ids = list(loaded.iter_ids())
    assert len(ids) == len(set(ids)) == N_POINTS  # N_POINTS is more than one scroll page
    assert set(ids) == {p.id for p in corpus.points}


def test_reopen_after_close_keeps_data(opener: Opener, tmp_path: Path, corpus: Corpus) -> None:
    first = opener(tmp_path, DIM)
    first.upsert(corpus.points)
    first.delete([corpus.points[0].id])
    before = first.search_sparse(corpus.sparse_queries[1], K)
    first.flush()
    first.close()
    first.close()  # closing twice is harmless
    with pytest.raises(StoreError):
        first.count()
    again = opener(tmp_path, DIM)
    try:
        assert again.count() == N_POINTS - 1
        compare(again.search_sparse(corpus.sparse_queries[1], K), before, "sparse after reopen")
        live = corpus.points[1:]
        query = corpus.dense_queries[0]
        assert_same_ranking(
            again.search_dense(query, K), reference_dense(live, query, K, StoreFilter()), "reopen"
        )
    finally:
        again.close()


def test_dimension_mismatch_asks_for_a_rebuild(opener: Opener, tmp_path: Path) -> None:
    opener(tmp_path, DIM).close()
    with pytest.raises(StoreSchemaError) as caught:
        opener(tmp_path, 8)
    message = str(caught.value)
    assert str(DIM) in message and "8" in message and "mochi index --rebuild" in message
    opener(tmp_path, DIM).close()  # the failed open left the index usable


def test_second_open_of_the_same_index_is_refused(opener: Opener, tmp_path: Path) -> None:
    held = opener(tmp_path, DIM)
    try:
        with pytest.raises(StoreLockedError, match="another process holds"):
            opener(tmp_path, DIM)
    finally:
        held.close()
    opener(tmp_path, DIM).close()  # released by close()


# -- the back ends against each other ------------------------------------------------


def compare(left: list[ScoredId], right: list[ScoredId], context: str) -> None:
    assert [hit.id for hit in left] == [hit.id for hit in right], context
    for a, b in zip(left, right, strict=True):
        assert a.score == pytest.approx(b.score, abs=SCORE_TOL, rel=SCORE_TOL), context


def test_back_ends_agree(tmp_path: Path, corpus: Corpus) -> None:
    stores = {name: opener(tmp_path / name, DIM) for name, opener in BACKENDS.items()}
    try:
        edge, local = stores["edge"], stores["qdrant-local"]
        for s in stores.values():
            s.upsert(corpus.points)
            s.delete([p.id for p in corpus.points[::7]])
        assert edge.count() == local.count()
        assert sorted(edge.iter_ids()) == sorted(local.iter_ids())
        for where in FILTERS:
            for query in corpus.dense_queries:
                compare(
                    edge.search_dense(query, K, where), local.search_dense(query, K, where), "d"
                )
            for sparse in corpus.sparse_queries:
                compare(
                    edge.search_sparse(sparse, K, where), local.search_sparse(sparse, K, where), "s"
                )
        ids = [p.id for p in corpus.points[:20]]
        assert edge.get_payloads(ids) == local.get_payloads(ids)
        assert set(edge.get_vectors(ids)) == set(local.get_vectors(ids))
    finally:
        for s in stores.values():
            s.close()


# -- Edge only -----------------------------------------------------------------------


def test_edge_refuses_an_index_held_by_another_process(tmp_path: Path) -> None:
    held = EdgeVectorStore(tmp_path / "edge", DIM)
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from mochi.rag.store import EdgeVectorStore, StoreLockedError\n"
        "try:\n"
        f"    EdgeVectorStore(Path({str(tmp_path / 'edge')!r}), {DIM})\n"
        "except StoreLockedError as exc:\n"
        "    print(exc)\n"
        "    sys.exit(3)\n"
    )
    try:
        child = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
        )
    finally:
        held.close()
    assert child.returncode == 3, child.stderr
    assert "another process holds" in child.stdout


def test_edge_optimize_keeps_results(tmp_path: Path, corpus: Corpus) -> None:
    edge = EdgeVectorStore(tmp_path / "edge", DIM)
    try:
        edge.upsert(corpus.points)
        query, sparse = corpus.dense_queries[1], corpus.sparse_queries[2]
        before = (edge.search_dense(query, K), edge.search_sparse(sparse, K))
        assert isinstance(edge.optimize(), bool)
        compare(edge.search_dense(query, K), before[0], "dense after optimize")
        compare(edge.search_sparse(sparse, K), before[1], "sparse after optimize")
        assert edge.count() == N_POINTS
    finally:
        edge.close()


# -- QdrantServerVectorStore construction ---------------------------------------------


def test_server_store_needs_exactly_one_of_url_and_path(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        QdrantServerVectorStore(url="http://localhost:6333", path=tmp_path, collection="c", dim=4)
    with pytest.raises(ValueError, match="exactly one"):
        QdrantServerVectorStore(collection="c", dim=4)
    with pytest.raises(ValueError, match="api_key"):
        QdrantServerVectorStore(path=tmp_path, api_key="k", collection="c", dim=4)
    assert not any(tmp_path.iterdir())  # refused before touching anything


def test_unreachable_server_fails_fast_and_clearly() -> None:
    url = "http://127.0.0.1:9"
    started = time.monotonic()
    with pytest.raises(StoreUnavailableError) as caught:
        QdrantServerVectorStore(url=url, collection="c", dim=4, timeout=2.0)
    assert time.monotonic() - started < 5.0
    assert url in str(caught.value)
    assert caught.value.url == url


# -- the schema helpers --------------------------------------------------------------


def test_dirs_of_lists_every_ancestor() -> None:
    assert dirs_of("a/b/c.py") == ["a", "a/b"]
    assert dirs_of("top.py") == []
    assert dirs_of("git:0123abcd") == []
    assert dirs_of("./rag/mochi/x.py") == ["rag", "rag/mochi"]


def test_empty_filter_has_no_conditions() -> None:
    assert filter_conditions(None) == []
    assert filter_conditions(StoreFilter()) == []
    assert filter_conditions(StoreFilter(dir_prefix="/")) == []
    assert [c.key for c in filter_conditions(StoreFilter(languages=("go",), dir_prefix="a/"))] == [
        "language",
        "dirs",
    ]
