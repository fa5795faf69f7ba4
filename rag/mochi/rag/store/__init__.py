"""Vector stores: one `VectorStore` interface over Qdrant Edge and a Qdrant server.

The configuration layer builds the store; this package only provides the back ends,
the shared schema and the errors they raise. The server back end is imported when first
named: qdrant-client takes seconds to import, and a search on Edge never needs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mochi.rag.store.edge import EdgeVectorStore
from mochi.rag.store.errors import (
    StoreError,
    StoreLockedError,
    StoreSchemaError,
    StoreUnavailableError,
)
from mochi.rag.store.schema import dirs_of

if TYPE_CHECKING:
    from mochi.rag.store.qdrant_server import QdrantServerVectorStore

__all__ = [
    "EdgeVectorStore",
    "QdrantServerVectorStore",
    "StoreError",
    "StoreLockedError",
    "StoreSchemaError",
    "StoreUnavailableError",
    "dirs_of",
]


def __getattr__(name: str) -> object:
    if name == "QdrantServerVectorStore":
        from mochi.rag.store.qdrant_server import QdrantServerVectorStore

        return QdrantServerVectorStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
