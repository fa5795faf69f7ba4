"""`bench_store.py --hybrid`: one hybrid query through the store layer against Qdrant
Edge alone, at several index sizes.

Store layer: `HybridRetriever.search(query, 10)` over an `EdgeVectorStore`, built from
the default configuration (100 candidates a side, hub penalty, weighted fusion, ranking
priors, one hit per unit), with the query's vectors precomputed so that the embedding
model is timed on its own. Edge raw: what any hybrid query asks of Edge, straight
through its API: the dense top 100, the sparse top 100 (IDF over the live points, as
the store asks) and the payloads of the 10 best. Query embedding: the configured
embedding model's `embed_query`, timed separately.

The points look like an indexed repository: 8 chunks a file, consecutive pairs pieces
of one function, one file in ten a test, a text of ~20 lines, a density.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from qdrant_edge import Query, QueryRequest

from mochi.rag.config import RagConfig
from mochi.rag.index.query_parts import build_retriever
from mochi.rag.store import EdgeVectorStore, dirs_of
from mochi.rag.store.edge import edge_sparse, live_idf
from mochi.rag.store.schema import DENSE_VECTOR, SPARSE_VECTOR
from mochi.rag.types import SparseVector, StoredPoint

VOCAB = 30_000
BATCH = 5_000
WORDS = np.array([f"word{i}" for i in range(4_000)])
QUERY = "how is the request {i} handled when it times out"


@dataclass
class Size:
    n: int
    upsert_s: float
    store_ms: tuple[float, float]
    ranked_ms: tuple[float, float]
    raw_ms: tuple[float, float]

    def ratio(self, embed_ms: float) -> tuple[float, float]:
        """(store / raw, (store + embedding) / (raw + embedding)), at p50."""
        store, raw = self.store_ms[0], self.raw_ms[0]
        return store / raw, (store + embed_ms) / (raw + embed_ms)


@dataclass
class Targets:
    """The points the queries aim at (their vectors, to derive each query's from)."""

    dense: np.ndarray
    sparse: list[SparseVector]


def interleaved_ms(
    runs: dict[str, Callable[[int], object]], count: int
) -> dict[str, tuple[float, float]]:
    """(p50, p95) in ms of each of `runs` over `count` queries, taken in turn query by
    query, so that each sees the same machine (the load on a shared one drifts)."""
    for i in range(min(5, count)):
        for run in runs.values():
            run(i)
    times: dict[str, list[float]] = {name: [] for name in runs}
    for i in range(count):
        for name, run in runs.items():
            started = time.perf_counter()
            run(i)
            times[name].append((time.perf_counter() - started) * 1000)
    return {
        name: (statistics.median(t), statistics.quantiles(t, n=20)[18]) for name, t in times.items()
    }


def _sparse(rng: np.random.Generator) -> SparseVector:
    ids = np.unique((rng.zipf(1.2, size=40) - 1) % VOCAB)
    return SparseVector(tuple(int(i) for i in ids), tuple(float(v) for v in rng.random(len(ids))))


def _text(rng: np.random.Generator) -> str:
    words = WORDS[rng.integers(0, len(WORDS), size=(20, 10))]
    return "\n".join(" ".join(line) for line in words)


def point_batches(n: int, dim: int, targets: Targets) -> Iterator[list[StoredPoint]]:
    rng = np.random.default_rng(0)
    for start in range(0, n, BATCH):
        count = min(BATCH, n - start)
        dense = rng.standard_normal((count, dim)).astype(np.float32)
        batch = []
        for offset in range(count):
            i = start + offset
            folder = "tests" if (i // 8) % 10 == 0 else f"pkg{i % 40}/mod{(i // 40) % 25}"
            name = f"test_f{i // 8}.py" if folder == "tests" else f"f{i // 8}.py"
            path = f"{folder}/{name}"
            line = (i % 8) * 30 + 1
            sparse = _sparse(rng)
            if i < len(targets.sparse):
                targets.dense[i] = dense[offset]
                targets.sparse[i] = sparse
            batch.append(
                StoredPoint(
                    id=str(uuid.uuid4()),
                    dense=tuple(dense[offset].tolist()),
                    sparse=sparse,
                    payload={
                        "path": path,
                        "language": "python",
                        "kind": "function",
                        "source": "code",
                        "dirs": dirs_of(path),
                        "symbol": f"handler_{i // 2}",
                        "start_line": line,
                        "end_line": line + 29,
                        "text": _text(rng),
                        "density": float(rng.uniform(0.2, 0.6)),
                    },
                )
            )
        yield batch


class PrecomputedQueries:
    """Embedder and sparse encoder stand-ins: query i's vectors, derived from target i."""

    def __init__(self, targets: Targets, count: int, dim: int) -> None:
        rng = np.random.default_rng(7)
        picks = rng.integers(0, len(targets.sparse), size=count)
        noisy = targets.dense[picks] + 0.8 * rng.standard_normal((count, dim))
        self._dense = (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).tolist()
        self._sparse = [
            SparseVector(targets.sparse[p].indices[:4], (1.0,) * len(targets.sparse[p].indices[:4]))
            for p in picks
        ]
        self._dim = dim

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def model_id(self) -> str:
        return "precomputed"

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        raise NotImplementedError

    def embed_query(self, text: str) -> list[float]:
        return list(self._dense[_index(text)])

    def encode_passage(self, text: str) -> SparseVector:
        raise NotImplementedError

    def encode_query(self, text: str) -> SparseVector:
        return self._sparse[_index(text)]


def _index(query: str) -> int:
    return int(query.split()[4])  # QUERY's number


def measure_size(n: int, dim: int, queries: int) -> Size:
    targets = Targets(np.zeros((min(n, 1000), dim), np.float32), [SparseVector((), ())] * 1000)
    targets.sparse = targets.sparse[: len(targets.dense)]
    with tempfile.TemporaryDirectory(prefix="mochi-bench-hybrid-") as tmp:
        store = EdgeVectorStore(Path(tmp) / "edge", dim)
        try:
            started = time.perf_counter()
            for batch in point_batches(n, dim, targets):
                store.upsert(batch)
            store.flush()
            upsert_s = time.perf_counter() - started
            stand_in = PrecomputedQueries(targets, queries, dim)
            retriever = build_retriever(RagConfig(), store, stand_in, stand_in)
            text = [QUERY.format(i=i) for i in range(queries)]
            shard = store.edge_shard
            candidates = RagConfig().retrieval.candidates

            def raw(i: int) -> None:
                dense = shard.query(
                    QueryRequest(
                        limit=candidates,
                        query=Query.Nearest(stand_in.embed_query(text[i]), using=DENSE_VECTOR),
                        with_payload=False,
                        with_vector=False,
                    )
                )
                shard.query(
                    QueryRequest(
                        limit=candidates,
                        query=Query.Nearest(
                            edge_sparse(stand_in.encode_query(text[i])), using=SPARSE_VECTOR
                        ),
                        params=live_idf(),
                        with_payload=False,
                        with_vector=False,
                    )
                )
                shard.retrieve([p.id for p in dense[:10]], with_payload=True, with_vector=False)

            timed = interleaved_ms(
                {
                    "store": lambda i: retriever.search(text[i], 10),
                    "ranked": lambda i: retriever.ranked_ids(text[i], candidates),
                    "raw": raw,
                },
                queries,
            )
            return Size(n, upsert_s, timed["store"], timed["ranked"], timed["raw"])
        finally:
            store.close()


def embedding_ms(queries: int) -> tuple[float, float, str]:
    """(p50, p95, model) of the configured model's query embedding."""
    from mochi.rag.index.workspace import build_embedder

    embedder = build_embedder(RagConfig())
    questions = [QUERY.format(i=i) for i in range(queries)]
    timed = interleaved_ms({"embed": lambda i: embedder.embed_query(questions[i])}, queries)
    return *timed["embed"], embedder.model_id


def run_hybrid(
    sizes: Sequence[int], dim: int, queries: int, *, embedder: bool = True
) -> dict[str, object]:
    embed = embedding_ms(min(queries, 50)) if embedder else (0.0, 0.0, "not measured")
    rows = []
    for n in sizes:
        row = measure_size(n, dim, queries)
        rows.append(row)
        print(
            f"N={n:,}: store {row.store_ms[0]:.2f} / {row.store_ms[1]:.2f} ms, "
            f"ranked ids {row.ranked_ms[0]:.2f} ms, Edge raw {row.raw_ms[0]:.2f} / "
            f"{row.raw_ms[1]:.2f} ms (upsert {row.upsert_s:.0f} s)",
            file=sys.stderr,
        )
    return {
        "markdown": hybrid_markdown(rows, embed, dim, queries, sizes),
        "dim": dim,
        "queries": queries,
        "embedding": {"model": embed[2], "p50_ms": embed[0], "p95_ms": embed[1]},
        "sizes": [
            {
                "n": row.n,
                "upsert_s": row.upsert_s,
                "store_ms": row.store_ms,
                "ranked_ids_ms": row.ranked_ms,
                "edge_raw_ms": row.raw_ms,
                "store_over_raw": row.ratio(embed[0])[0],
                "with_embedding_over_raw_with_embedding": row.ratio(embed[0])[1],
            }
            for row in rows
        ],
    }


def hybrid_markdown(
    rows: Sequence[Size],
    embed: tuple[float, float, str],
    dim: int,
    queries: int,
    sizes: Sequence[int],
) -> list[str]:
    size_arg = ",".join(str(n) for n in sizes)
    lines = [
        "## A hybrid query: the store layer against Qdrant Edge alone",
        "",
        f"Measured by `python scripts/bench_store.py --hybrid --sizes {size_arg} "
        f"--queries {queries}`: synthetic chunks (dense dim {dim} + a sparse vector + a "
        "payload like the indexer's), exact search (no HNSW: `mochi index` builds it at the "
        f"end of a full run), p50 / p95 in ms over {queries} queries, the three taken in "
        f"turn query by query (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} "
        "CPUs at the end). *Store layer*: `HybridRetriever.search(query, 10)` with the "
        "default settings, vectors precomputed; *ranked ids*: its dense + sparse searches, "
        "hub penalty and fusion only; *Edge raw*: the dense and sparse top 100 and the "
        "payloads of the 10 best, straight through Edge's API. *Embedding*: "
        f"`{embed[2]}`'s `embed_query`, {embed[0]:.2f} / {embed[1]:.2f} ms.",
        "",
        "| chunks | store layer | ranked ids | Edge raw | store / raw "
        "| with embedding: store / raw |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        bare, embedded = row.ratio(embed[0])
        cells = [f"{a:.2f} / {b:.2f}" for a, b in (row.store_ms, row.ranked_ms, row.raw_ms)]
        lines.append(f"| {row.n:,} | {' | '.join(cells)} | {bare:.1f}x | {embedded:.2f}x |")
    return lines
