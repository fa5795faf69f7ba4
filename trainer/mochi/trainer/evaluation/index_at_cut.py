"""The retrieval index of the repository at the cut, kept in the run's folder (so a
resumed run reuses it), with the embedded defaults (Qdrant Edge, all-MiniLM-L6-v2)."""

from __future__ import annotations

from pathlib import Path

from mochi.rag.config import RagConfig
from mochi.rag.index import WorkspaceIndex, open_workspace_index
from mochi.rag.protocols import Embedder
from mochi.rag.types import ProgressCallback


def open_index_at_cut(
    worktree: Path,
    data_dir: Path,
    *,
    embedder: Embedder | None = None,
    progress: ProgressCallback | None = None,
) -> WorkspaceIndex:
    """Open (building or updating) the index of `worktree`; the caller closes it.

    The worktree's HEAD is the cut, so its history documents stop there too.
    """
    index = open_workspace_index(worktree, RagConfig(data_dir=str(data_dir)), embedder=embedder)
    try:
        index.sync(progress=progress)
    except BaseException:
        index.close()
        raise
    return index
