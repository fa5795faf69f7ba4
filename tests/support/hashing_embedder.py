"""A deterministic bag-of-tokens embedder: fast, no model files. For tests that are about
index bookkeeping, where the embedding model is not what is being tested."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence

_TOKEN = re.compile(r"\w+")


class HashingEmbedder:
    def __init__(self, dim: int = 64) -> None:
        self._dim = dim
        self.calls: list[int] = []  # batch sizes, so tests can count embedded texts

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def model_id(self) -> str:
        return f"hashing-{self._dim}"

    def _vector(self, text: str) -> list[float]:
        vec = [0.0] * self._dim
        for token in _TOKEN.findall(text.lower()):
            h = int.from_bytes(hashlib.blake2b(token.encode(), digest_size=4).digest(), "big")
            vec[h % self._dim] += 1.0 if (h >> 16) & 1 else -1.0
        norm = math.sqrt(sum(v * v for v in vec)) or 1.0
        return [v / norm for v in vec]

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls.append(len(texts))
        return [self._vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)

    @property
    def embedded(self) -> int:
        return sum(self.calls)
