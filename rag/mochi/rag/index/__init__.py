"""The workspace index: manifest, indexer, and the composition roots that open it.

Names are imported when first used: `mochi search` needs the query side only
(`search_index`), not the indexer and what it imports.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from mochi.rag.index.lock import IndexLockedError

if TYPE_CHECKING:
    from mochi.rag.index.indexer import Indexer
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
_HOMES = {
    "Indexer": "indexer",
    "Manifest": "manifest",
    "IndexReport": "report",
    "IndexStatus": "workspace",
    "WorkspaceIndex": "workspace",
    "open_workspace_index": "workspace",
}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
