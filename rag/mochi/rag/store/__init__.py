"""Vector stores: one `VectorStore` interface over Qdrant Edge and a Qdrant server.

The configuration layer builds the store; this package only provides the back ends,
the shared schema and the errors they raise.
"""

from mochi.rag.store.edge import EdgeVectorStore
from mochi.rag.store.errors import (
    StoreError,
    StoreLockedError,
    StoreSchemaError,
    StoreUnavailableError,
)
from mochi.rag.store.qdrant_server import QdrantServerVectorStore
from mochi.rag.store.schema import dirs_of

__all__ = [
    "EdgeVectorStore",
    "QdrantServerVectorStore",
    "StoreError",
    "StoreLockedError",
    "StoreSchemaError",
    "StoreUnavailableError",
    "dirs_of",
]
