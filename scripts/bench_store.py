"""Upsert throughput and query latency of the vector-store back ends, and the cost of
a hybrid query through the store layer against Qdrant Edge alone.

    python scripts/bench_store.py [N] [--dim 384] [--queries 200]
    python scripts/bench_store.py --hybrid [--sizes 10000,100000] [--queries 200]

Synthetic data: unit-normal dense vectors and BM25-like sparse vectors (Zipf term
ids, ~40 terms a chunk). Each back end gets a fresh directory. qdrant-client's local
mode stands in for a server (a real server adds a network round trip per call).

`--hybrid` (see `bench_store_hybrid.py`) times `HybridRetriever.search` (dense + hub
penalty + sparse + fusion + payloads + priors + one hit per unit) over Edge against the
two Edge searches and the payload read of the top hits that any hybrid query needs,
and the real embedding model's query embedding. Results go to docs/benchmarks/store.md
and store.json (each mode keeps the other's section).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast

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


def backends_section(rows: Sequence[Row], n: int, dim: int) -> dict[str, object]:
    lines = [
        "## Back ends: Qdrant Edge vs qdrant-client",
        "",
        f"Measured by `python scripts/bench_store.py {n}`: {n:,} random points",
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
    return {"markdown": lines, "n": n, "dim": dim, "rows": [asdict(row) for row in rows]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, nargs="?", default=20_000, help="number of points")
    parser.add_argument("--dim", type=int, default=384, help="dense dimension")
    parser.add_argument("--queries", type=int, default=200, help="queries per kind")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parents[1] / "docs" / "benchmarks"
    )
    parser.add_argument(
        "--hybrid", action="store_true", help="store layer vs Edge raw, hybrid queries"
    )
    parser.add_argument(
        "--sizes", default="10000,100000", help="with --hybrid: point counts, comma-separated"
    )
    parser.add_argument(
        "--section",
        default="hybrid",
        help="with --hybrid: the report section to write, e.g. hybrid-before for a baseline",
    )
    parser.add_argument(
        "--no-embedder",
        action="store_true",
        help="with --hybrid: skip timing the real embedding model",
    )
    args = parser.parse_args()
    if args.hybrid:
        from bench_store_hybrid import run_hybrid

        sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
        section = run_hybrid(sizes, args.dim, args.queries, embedder=not args.no_embedder)
        if args.section != "hybrid":
            heading, *rest = cast(list[str], section["markdown"])
            section["markdown"] = [f"{heading} ({args.section})", *rest]
        write_report(args.out, args.section, section)
        return
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
    write_report(args.out, "backends", backends_section(rows, args.n, args.dim))


def verdict(section: dict[str, Any]) -> list[str]:
    """Whether a hybrid query through the store layer stays within 3x Edge raw."""
    cells = []
    for size in section["sizes"]:
        bare = size["store_over_raw"]
        embedded = size["with_embedding_over_raw_with_embedding"]
        cells.append(
            f"{size['n']:,} chunks: store layer alone {bare:.1f}x Edge raw "
            f"({'within' if bare <= 3 else 'over'} 3x); with the query embedding on both sides "
            f"{embedded:.2f}x ({'within' if embedded <= 3 else 'over'} 3x)"
        )
    return ["At p50: " + "; ".join(cells) + "."]


def write_report(out: Path, name: str, section: dict[str, object]) -> None:
    """Replace one section of store.json and write store.md from all of them."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "store.json"
    data = json.loads(path.read_text()) if path.is_file() else {}
    data[name] = section
    path.write_text(json.dumps(data, indent=2) + "\n")
    lines = ["# Vector stores", ""]
    order = ["hybrid", *sorted(k for k in data if k.startswith("hybrid-")), "backends"]
    for key in order:
        if key in data:
            lines += [*data[key]["markdown"], ""]
            if key.startswith("hybrid"):
                lines += [*verdict(data[key]), ""]
    (out / "store.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
