"""Upsert throughput and query latency of the vector-store back ends.

    python scripts/bench_store.py [N] [--dim 384] [--queries 200]

Synthetic data: unit-normal dense vectors and BM25-like sparse vectors (Zipf term
ids, ~40 terms a chunk). Each back end gets a fresh directory. qdrant-client's local
mode stands in for a server (a real server adds a network round trip per call).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mochi.rag.protocols import VectorStore
from mochi.rag.store import EdgeVectorStore, QdrantServerVectorStore, dirs_of
from mochi.rag.types import SparseVector, StoredPoint, StoreFilter

VOCAB = 30_000
LANGUAGES = ("python", "go", "rust", "markdown")


@dataclass
class Row:
    backend: str
    upsert_per_s: float
    dense_ms: tuple[float, float]
    sparse_ms: tuple[float, float]
    filtered_ms: tuple[float, float]
    note: str = ""


def sparse_vector(rng: np.random.Generator, terms: int) -> SparseVector:
    ids = np.unique((rng.zipf(1.2, size=terms) - 1) % VOCAB)
    return SparseVector(tuple(int(i) for i in ids), tuple(float(v) for v in rng.random(len(ids))))


def make_points(n: int, dim: int, seed: int = 0) -> list[StoredPoint]:
    rng = np.random.default_rng(seed)
    dense = rng.standard_normal((n, dim)).astype(np.float32)
    points = []
    for i in range(n):
        path = f"pkg{i % 10}/mod{i % 7}/f{i}.py"
        points.append(
            StoredPoint(
                id=str(uuid.uuid4()),
                dense=tuple(dense[i].tolist()),
                sparse=sparse_vector(rng, 40),
                payload={
                    "path": path,
                    "language": LANGUAGES[i % len(LANGUAGES)],
                    "kind": "function",
                    "source": "code",
                    "dirs": dirs_of(path),
                },
            )
        )
    return points


def latency_ms(
    run: Callable[[int], object], count: int, budget_s: float = 15.0
) -> tuple[float, float]:
    """(p50, p95) in ms of `run(i)` over up to `count` queries (fewer past `budget_s`)."""
    for i in range(min(3, count)):
        run(i)
    times: list[float] = []
    deadline = time.perf_counter() + budget_s
    for i in range(count):
        started = time.perf_counter()
        run(i)
        times.append((time.perf_counter() - started) * 1000)
        if len(times) >= 20 and started > deadline:
            break
    cuts = statistics.quantiles(times, n=20)
    return statistics.median(times), cuts[18]


def measure(
    name: str, store: VectorStore, points: Sequence[StoredPoint], queries: int, dim: int
) -> Row:
    rng = np.random.default_rng(1)
    dense_q = rng.standard_normal((queries, dim)).tolist()
    sparse_q = [sparse_vector(rng, 6) for _ in range(queries)]
    where = StoreFilter(languages=("python",), dir_prefix="pkg3")
    started = time.perf_counter()
    store.upsert(points)
    store.flush()
    rate = len(points) / (time.perf_counter() - started)
    assert store.count() == len(points)
    return Row(
        name,
        rate,
        latency_ms(lambda i: store.search_dense(dense_q[i], 10), queries),
        latency_ms(lambda i: store.search_sparse(sparse_q[i], 10), queries),
        latency_ms(lambda i: store.search_dense(dense_q[i], 10, where), queries),
    )


def after_optimize(store: EdgeVectorStore, queries: int, dim: int) -> Row:
    started = time.perf_counter()
    store.optimize()
    took = time.perf_counter() - started
    rng = np.random.default_rng(1)
    dense_q = rng.standard_normal((queries, dim)).tolist()
    sparse_q = [sparse_vector(rng, 6) for _ in range(queries)]
    where = StoreFilter(languages=("python",), dir_prefix="pkg3")
    return Row(
        "edge, optimized",
        float("nan"),
        latency_ms(lambda i: store.search_dense(dense_q[i], 10), queries),
        latency_ms(lambda i: store.search_sparse(sparse_q[i], 10), queries),
        latency_ms(lambda i: store.search_dense(dense_q[i], 10, where), queries),
        f"optimize() took {took:.1f} s",
    )


def print_table(rows: Sequence[Row], n: int, dim: int) -> None:
    print(f"N={n} dim={dim}; latencies are p50 / p95 ms, top-10 (slow back ends: fewer queries)")
    header = f"{'back end':<18}{'upsert pts/s':>14}{'dense':>16}{'sparse':>16}{'dense+filter':>16}"
    print(header)
    print("-" * len(header))
    for row in rows:
        rate = "-" if row.upsert_per_s != row.upsert_per_s else f"{row.upsert_per_s:,.0f}"
        cells = [
            f"{p50:.2f} / {p95:.2f}" for p50, p95 in (row.dense_ms, row.sparse_ms, row.filtered_ms)
        ]
        print(f"{row.backend:<18}{rate:>14}{cells[0]:>16}{cells[1]:>16}{cells[2]:>16}  {row.note}")


def write_markdown(rows: Sequence[Row], n: int, dim: int, out: Path) -> None:
    lines = [
        "# Vector stores: Qdrant Edge vs qdrant-client",
        "",
        f"Measured by `python scripts/bench_store.py {n}` on 2 CPU cores: {n:,} random points",
        f"(dense dim {dim} + a sparse vector), top-10 latencies p50 / p95 in ms. qdrant-client's",
        "local mode is pure Python and only stands in for a Qdrant server in tests: its figures",
        "say nothing about a real server's speed.",
        "",
        "| back end | upsert points/s | dense | sparse | dense + filter | note |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        rate = "-" if row.upsert_per_s != row.upsert_per_s else f"{row.upsert_per_s:,.0f}"
        cells = [f"{a:.2f} / {b:.2f}" for a, b in (row.dense_ms, row.sparse_ms, row.filtered_ms)]
        lines.append(f"| {row.backend} | {rate} | {' | '.join(cells)} | {row.note} |")
    out.mkdir(parents=True, exist_ok=True)
    (out / "store.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, nargs="?", default=20_000, help="number of points")
    parser.add_argument("--dim", type=int, default=384, help="dense dimension")
    parser.add_argument("--queries", type=int, default=200, help="queries per kind")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parents[1] / "docs" / "benchmarks"
    )
    args = parser.parse_args()
    points = make_points(args.n, args.dim)
    rows = []
    with tempfile.TemporaryDirectory(prefix="mochi-bench-") as tmp:
        edge = EdgeVectorStore(Path(tmp) / "edge", args.dim)
        try:
            rows.append(measure("edge", edge, points, args.queries, args.dim))
            rows.append(after_optimize(edge, args.queries, args.dim))
        finally:
            edge.close()
        local = QdrantServerVectorStore(path=Path(tmp) / "qdrant", collection="bench", dim=args.dim)
        try:
            rows.append(measure("qdrant local mode", local, points, args.queries, args.dim))
        finally:
            local.close()
    print_table(rows, args.n, args.dim)
    write_markdown(rows, args.n, args.dim, args.out)


if __name__ == "__main__":
    main()
