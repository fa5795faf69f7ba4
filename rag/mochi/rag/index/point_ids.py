"""Stable point ids: the same chunk text in the same document keeps its id."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence

from mochi.rag.types import Chunk

_NAMESPACE = uuid.UUID("6d6f6368-692d-7261-672d-706f696e7473")  # "mochi-rag-points"


def point_ids(doc_key: str, chunks: Sequence[Chunk]) -> list[str]:
    """One id per chunk from (document, content hash, n-th occurrence of that hash).

    Line numbers are not part of the id: a chunk that only moved keeps its id
    and its vectors, and only its payload is rewritten.
    """
    seen: Counter[str] = Counter()
    ids: list[str] = []
    for chunk in chunks:
        digest = chunk.content_hash
        ids.append(str(uuid.uuid5(_NAMESPACE, f"{doc_key}\0{digest}\0{seen[digest]}")))
        seen[digest] += 1
    return ids
