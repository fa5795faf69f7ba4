"""Runs one index sync in a child process and SIGKILLs itself at a chosen point.

usage: crash_worker.py ROOT DATA_DIR POINT N [SLOW_MS]
POINT is where to die, on the N-th batch: after_begin (pending row written,
store untouched), after_upsert, after_payloads (a payload merge: moved chunks or
densities), after_delete (store written, manifest not), in_commit (inside the
manifest transaction), in_density (all written, the density pass not begun; use
N=1, there is one per sync), or never.
SLOW_MS slows every embedded text, so an outside kill lands mid-run.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from hashing_embedder import HashingEmbedder

from mochi.rag.config import RagConfig
from mochi.rag.index import manifest as manifest_module
from mochi.rag.index import open_workspace_index
from mochi.rag.index.density import DensityKeeper
from mochi.rag.store import EdgeVectorStore


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    root, data, point, nth = Path(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
    slow = float(sys.argv[5]) / 1000 if len(sys.argv) > 5 else 0.0
    counts: dict[str, int] = {}

    def hook(name: str, original: Any, before: bool = False) -> Any:
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            counts[name] = counts.get(name, 0) + 1
            if before and point == name and counts[name] == nth:
                die()
            result = original(self, *args, **kwargs)
            if not before and point == name and counts[name] == nth:
                die()
            return result

        return wrapper

    Manifest = manifest_module.Manifest
    Manifest.begin_batch = hook("after_begin", Manifest.begin_batch)  # type: ignore[method-assign]
    Manifest.commit_batch = hook("in_commit", Manifest.commit_batch, before=True)  # type: ignore[method-assign]
    EdgeVectorStore.upsert = hook("after_upsert", EdgeVectorStore.upsert)  # type: ignore[method-assign]
    EdgeVectorStore.merge_payloads = hook("after_payloads", EdgeVectorStore.merge_payloads)  # type: ignore[method-assign]
    DensityKeeper.refresh = hook("in_density", DensityKeeper.refresh, before=True)  # type: ignore[method-assign]
    EdgeVectorStore.delete = hook("after_delete", EdgeVectorStore.delete)  # type: ignore[method-assign]

    class SlowEmbedder(HashingEmbedder):
        def embed_passages(self, texts: Any) -> list[list[float]]:
            time.sleep(slow * len(texts))
            return super().embed_passages(texts)

    config = RagConfig(data_dir=data)
    config.index.batch_chunks = 4
    with open_workspace_index(root, config, embedder=SlowEmbedder()) as index:
        report = index.sync()
    print(f"done {report.chunks_embedded}", flush=True)


if __name__ == "__main__":
    main()
