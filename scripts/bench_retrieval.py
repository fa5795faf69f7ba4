"""CoSQA dev-500 code search through the real index (Qdrant Edge): BM25, dense, hybrid.

    python scripts/bench_retrieval.py [--data ../shared/data/cosqa] [--out docs/benchmarks]
                                      [--embedding-backend torch,onnx-int8]

Writes the 6,267 corpus functions as files into a scratch workspace, indexes it
with `open_workspace_index` (tree-sitter chunks, all-MiniLM-L6-v2, the BM25-style
sparse vector, Qdrant Edge, each chunk's neighbourhood density), then runs the
500 dev queries. Rankings are per function (a function's best chunk counts).
The hub penalty and then the fusion weight are chosen on the first 250 queries
and reported on the other 250 as well as on all 500; the default configuration
is reported as users get it. Each `--embedding-backend` (comma-separated
`embedding.backend` values) gets its own index and the whole evaluation.
Results: docs/benchmarks/retrieval.{md,json,png}.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mochi.rag.config import RagConfig
from mochi.rag.index import open_workspace_index
from mochi.rag.retrieval import rrf_fusion, weighted_fusion
from mochi.rag.store.schema import DENSITY_FIELD
from mochi.rag.types import ScoredId

DEPTH = 100


def metrics(ranks: list[int | None]) -> dict[str, float]:
    n = len(ranks)
    return {
        "mrr": sum(1 / r for r in ranks if r) / n,
        "recall@1": sum(1 for r in ranks if r and r <= 1) / n,
        "recall@5": sum(1 for r in ranks if r and r <= 5) / n,
        "recall@10": sum(1 for r in ranks if r and r <= 10) / n,
    }


def rank_of(ranked: list[ScoredId], doc_of: dict[str, str], gold: str) -> int | None:
    seen: list[str] = []
    for hit in ranked:
        doc = doc_of[hit.id]
        if doc in seen:
            continue
        seen.append(doc)
        if doc == gold:
            return len(seen)
    return None


def evaluate_backend(
    backend: str, args: argparse.Namespace, corpus: dict[str, int], queries: list[dict[str, Any]]
) -> dict[str, Any]:
    """Index the corpus with `embedding.backend = backend`, then every ranking."""
    with tempfile.TemporaryDirectory() as tmp:
        scratch = (args.workdir / backend) if args.workdir else Path(tmp)
        root = Path(scratch) / "cosqa"
        (root / "f").mkdir(parents=True, exist_ok=True)
        for code, idx in corpus.items():
            target = root / "f" / f"{idx}.py"
            if not target.exists() or target.read_text() != code:
                target.write_text(code)
        config = RagConfig(data_dir=str(Path(scratch) / "data"))
        config.index.include_history = False
        config.embedding.backend = backend  # type: ignore[assignment]
        with open_workspace_index(root, config) as index:
            started = time.perf_counter()
            report = index.sync()
            index_seconds = time.perf_counter() - started
            print(f"{backend}: indexed: {report.summary()}", file=sys.stderr)
            doc_of = {
                cid: key
                for key in index.manifest.docs("workspace")
                for cid in [c.id for c in index.manifest.chunks_of(key)]
            }
            densities = {
                cid: float(str(payload.get(DENSITY_FIELD, 0.0)))
                for page in range(0, len(doc_of), 1024)
                for cid, payload in index.store.get_payloads(
                    list(doc_of)[page : page + 1024], fields=[DENSITY_FIELD]
                ).items()
            }
            runs: list[tuple[list[ScoredId], list[ScoredId], str]] = []
            q_started = time.perf_counter()
            for q in queries:
                gold = f"f/{q['retrieval_idx']}.py"
                # Raw cosine: the store's own dense ranking, before any hub penalty.
                dense = index.store.search_dense(index.embedder.embed_query(q["doc"]), DEPTH)
                sparse = index.retriever.ranked_ids(q["doc"], DEPTH, mode="sparse")
                runs.append((dense, sparse, gold))
            query_ms = 1000 * (time.perf_counter() - q_started) / len(queries)
            # The product path with the default config, as users get it.
            product = [
                rank_of(
                    index.retriever.ranked_ids(q["doc"], DEPTH),
                    doc_of,
                    f"f/{q['retrieval_idx']}.py",
                )
                for q in queries
            ]
            model_id = index.embedder.model_id
            default_alpha = config.retrieval.dense_weight
            default_penalty = config.retrieval.hub_penalty

    def penalised(dense: list[ScoredId], beta: float) -> list[ScoredId]:
        hits = [ScoredId(h.id, h.score - beta * densities.get(h.id, 0.0)) for h in dense]
        return sorted(hits, key=lambda h: (-h.score, h.id))

    def evaluate(fuse, subset: slice) -> dict[str, float]:  # type: ignore[no-untyped-def]
        return metrics([rank_of(fuse(d, s), doc_of, g) for d, s, g in runs[subset]])

    half = len(runs) // 2
    tune, held, every = slice(0, half), slice(half, None), slice(None)
    betas = [round(0.05 * i, 2) for i in range(11)]
    beta_sweep = {b: evaluate(lambda d, s, b=b: penalised(d, b), tune)["mrr"] for b in betas}
    beta = max(betas, key=lambda b: (beta_sweep[b], -abs(b - default_penalty)))
    alphas = [round(0.05 * i, 2) for i in range(21)]
    sweep = {
        a: evaluate(lambda d, s, a=a: weighted_fusion(penalised(d, beta), s, a), tune)["mrr"]
        for a in alphas
    }
    best = max(alphas, key=lambda a: (sweep[a], -abs(a - default_alpha)))
    raw_sweep = {
        a: evaluate(lambda d, s, a=a: weighted_fusion(d, s, a), tune)["mrr"] for a in alphas
    }
    raw_best = max(alphas, key=lambda a: (raw_sweep[a], -abs(a - default_alpha)))

    def both(fuse) -> dict[str, dict[str, float]]:  # type: ignore[no-untyped-def]
        return {p: evaluate(fuse, sl) for p, sl in (("held", held), ("all", every))}

    results = {
        "bm25 (sparse only)": both(lambda d, s: s),
        "dense only (MiniLM cosine)": both(lambda d, s: d),
        "plain RRF (k=60)": both(lambda d, s: rrf_fusion(d, s, 60)),
        f"weighted, no hub penalty, alpha={raw_best} (tuned on first half)": both(
            lambda d, s: weighted_fusion(d, s, raw_best)
        ),
        f"dense - {beta} x density (tuned on first half)": both(lambda d, s: penalised(d, beta)),
        f"weighted, hub penalty {beta}, alpha={best} (tuned on first half)": both(
            lambda d, s: weighted_fusion(penalised(d, beta), s, best)
        ),
        f"default config (hub penalty {default_penalty}, weighted, alpha={default_alpha})": {
            "held": metrics(product[half:]),
            "all": metrics(product),
        },
    }
    return {
        "backend": backend,
        "model_id": model_id,
        "dataset": "CoSQA dev-500 (6,267-function corpus)",
        "queries": len(runs),
        "index": {
            "chunks": report.chunks_total,
            "seconds": round(index_seconds, 1),
            "embedding_seconds": round(report.seconds_embedding, 1),
            "density_seconds": round(report.seconds_density, 1),
            "chunks_embedded": report.chunks_embedded,
            "chunks_per_second": round(report.chunks_embedded / index_seconds, 1),
        },
        "query_ms_dense_plus_sparse": round(query_ms, 2),
        "hub_penalty_sweep_mrr_first_half": beta_sweep,
        "best_hub_penalty": beta,
        "alpha_sweep_mrr_first_half": sweep,
        "alpha_sweep_mrr_first_half_no_penalty": raw_sweep,
        "best_alpha": best,
        "results": results,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).parents[1] / "../shared/data/cosqa"
    )
    parser.add_argument("--out", type=Path, default=Path(__file__).parents[1] / "docs/benchmarks")
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument(
        "--embedding-backend",
        default="torch,onnx-int8",
        help="comma-separated embedding.backend values, each evaluated on its own index",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="keep the corpus and its index here (a re-run then embeds nothing)",
    )
    args = parser.parse_args()
    corpus: dict[str, int] = json.loads((args.data / "code_idx_map.txt").read_text())
    queries = json.loads((args.data / "cosqa-retrieval-dev-500.json").read_text())[: args.queries]

    backends = [b.strip() for b in args.embedding_backend.split(",") if b.strip()]
    runs = {b: evaluate_backend(b, args, corpus, queries) for b in backends}
    default = {"auto": "onnx-int8"}.get(
        RagConfig().embedding.backend, RagConfig().embedding.backend
    )
    main_run = runs.get(default, runs[backends[0]])
    payload = {"default_backend": default, "backends": runs}
    half = main_run["queries"] // 2
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "retrieval.json").write_text(json.dumps(payload, indent=2))
    lines = [
        "# Retrieval: CoSQA dev-500",
        "",
        "Measured by `python scripts/bench_retrieval.py"
        f" --embedding-backend {','.join(backends)}` (2 CPU cores; Qdrant Edge in-process;",
        "all-MiniLM-L6-v2; tree-sitter chunks; rankings per function). The hub penalty and the",
        f"fusion weight were tuned on the first {half} queries; 'held' is the other",
        f"{main_run['queries'] - half}. Hub penalty: dense cosine minus penalty x the chunk's"
        " density (mean",
        "cosine of its 5 nearest chunks), see rag/mochi/rag/index/density.py.",
        "",
        "## Embedding back ends (`embedding.backend`)",
        "",
        "| back end | dense-only MRR | default-config MRR | index s | chunks/s | query ms |",
        "|---|---|---|---|---|---|",
    ]
    for b, r in runs.items():
        dense = r["results"]["dense only (MiniLM cosine)"]["all"]["mrr"]
        product = next(v for k, v in r["results"].items() if k.startswith("default config"))
        lines.append(
            f"| {b}{' (default)' if b == default else ''} | {dense:.4f} |"
            f" {product['all']['mrr']:.4f} | {r['index']['seconds']} |"
            f" {r['index']['chunks_per_second']} | {r['query_ms_dense_plus_sparse']} |"
        )
    for b, r in runs.items():
        lines += [
            "",
            f"## {b}{' (default)' if b == default else ''}",
            "",
            "| method | MRR (all) | R@1 | R@5 | R@10 | MRR (held-out half) |",
            "|---|---|---|---|---|---|",
        ]
        for name, res in r["results"].items():
            a = res["all"]
            lines.append(
                f"| {name} | {a['mrr']:.3f} | {a['recall@1']:.3f} | {a['recall@5']:.3f} | "
                f"{a['recall@10']:.3f} | {res['held']['mrr']:.3f} |"
            )
        idx = r["index"]
        built = (
            f"Index: {idx['chunks']} chunks in {idx['seconds']:.0f} s "
            f"({idx['embedding_seconds']:.0f} s in the embedding model)."
            if idx["chunks_embedded"]
            else f"Index: {idx['chunks']} chunks, reused from --workdir (nothing re-embedded)."
        )
        lines += [
            "",
            f"{built} Query (dense + sparse search): {r['query_ms_dense_plus_sparse']:.1f} ms.",
        ]
    lines += ["", "![alpha sweep](retrieval.png)"]
    (args.out / "retrieval.md").write_text("\n".join(lines) + "\n")
    sweep, raw_sweep = (
        main_run["alpha_sweep_mrr_first_half"],
        main_run["alpha_sweep_mrr_first_half_no_penalty"],
    )
    alphas, beta, results = list(sweep), main_run["best_hub_penalty"], main_run["results"]
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.plot(alphas, [sweep[a] for a in alphas], marker="o", label=f"hub penalty {beta}")
        ax.plot(alphas, [raw_sweep[a] for a in alphas], marker=".", label="no hub penalty")
        ax.axhline(
            results["dense only (MiniLM cosine)"]["all"]["mrr"],
            color="gray",
            ls="--",
            label="dense only",
        )
        ax.axhline(
            results["plain RRF (k=60)"]["all"]["mrr"], color="red", ls=":", label="plain RRF"
        )
        ax.set_xlabel("dense weight alpha (weighted fusion)")
        ax.set_ylabel("MRR (first 250 queries)")
        ax.set_title("CoSQA dev: fusion weight sweep")
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.out / "retrieval.png", dpi=110)
    except ImportError:
        print("matplotlib missing: no plot", file=sys.stderr)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
