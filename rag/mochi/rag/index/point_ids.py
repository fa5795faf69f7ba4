"""Stable point ids: the same chunk text in the same document keeps its id."""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from collections.abc import Sequence

from mochi.rag.file_names import name_bytes
from mochi.rag.types import Chunk

_NAMESPACE = uuid.UUID("6d6f6368-692d-7261-672d-706f696e7473")  # "mochi-rag-points"


def point_ids(doc_key: str, chunks: Sequence[Chunk]) -> list[str]:
    """One id per chunk from (document, content hash, n-th occurrence of that hash).

    Line numbers are not part of the id: a chunk that only moved keeps its id
    and its vectors, and only its payload is rewritten. The key is hashed as the
    bytes of the file name, so a name that is not UTF-8 has ids too.
    """
    seen: Counter[str] = Counter()
    ids: list[str] = []
    for chunk in chunks:
        digest = chunk.content_hash
        name = name_bytes(f"{doc_key}\0{digest}\0{seen[digest]}")
        ids.append(str(_uuid5(name)))
        seen[digest] += 1
    return ids


def _uuid5(name: bytes) -> uuid.UUID:
    """uuid.uuid5 of raw bytes (which takes only text before Python 3.12)."""
    digest = hashlib.sha1(_NAMESPACE.bytes + name, usedforsecurity=False).digest()
    return uuid.UUID(bytes=digest[:16], version=5)
