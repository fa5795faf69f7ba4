from mochi.rag.index.indexer import Indexer
from mochi.rag.index.lock import IndexLockedError
from mochi.rag.index.manifest import Manifest
from mochi.rag.index.report import IndexReport
from mochi.rag.index.workspace import IndexStatus, WorkspaceIndex, open_workspace_index

__all__ = [
    "IndexLockedError",
    "IndexReport",
    "IndexStatus",
    "Indexer",
    "Manifest",
    "WorkspaceIndex",
    "open_workspace_index",
]
