"""Nearest keys of the token memory, and the next-token distribution they vote for.

faiss does the search: exact (a flat L2 index) up to `exact_limit` keys, an inverted-file
index above that (searched in `probes` of its lists) so a query stays in milliseconds for
a repository of millions of tokens.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

EXACT_LIMIT = 300_000


def _faiss() -> Any:
    try:
        import faiss
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise ImportError("the token memory needs faiss: pip install faiss-cpu") from exc
    return faiss


class TokenNeighbours:
    """Search over (key, value) pairs: keys are model states, values the next tokens."""

    def __init__(
        self,
        keys: np.ndarray,
        values: np.ndarray,
        *,
        exact_limit: int = EXACT_LIMIT,
        probes: int = 32,
        seed: int = 0,
    ) -> None:
        if keys.ndim != 2 or values.shape != (keys.shape[0],):
            raise ValueError(f"keys {keys.shape} and values {values.shape} do not match")
        faiss = _faiss()
        self.size = int(keys.shape[0])
        self.dim = int(keys.shape[1])
        self._values = values.astype(np.int64)
        data = np.ascontiguousarray(keys, dtype=np.float32)
        if self.size <= exact_limit:
            self._index: Any = faiss.IndexFlatL2(self.dim)
        else:
            lists = int(4 * math.sqrt(self.size))
            quantizer = faiss.IndexFlatL2(self.dim)
            self._index = faiss.IndexIVFFlat(quantizer, self.dim, lists)
            rng = np.random.default_rng(seed)
            sample = data[rng.choice(self.size, size=min(self.size, 64 * lists), replace=False)]
            self._index.train(sample)
            self._index.nprobe = probes
        if self.size:
            self._index.add(data)

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(squared L2 distances, next tokens) of the `k` nearest keys, nearest first."""
        if self.size == 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, self.dim)
        distances, ids = self._index.search(q, min(k, self.size))
        found = ids[0] >= 0
        return distances[0][found], self._values[ids[0][found]]

    def vote(self, query: np.ndarray, k: int, temperature: float) -> tuple[np.ndarray, np.ndarray]:
        """(tokens, probabilities): softmax(−distance / temperature) over the `k` nearest
        keys, summed per next token (Khandelwal et al. 2020). Empty for an empty memory."""
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature!r}")
        distances, tokens = self.search(query, k)
        if tokens.size == 0:
            return tokens, np.zeros(0, dtype=np.float64)
        logits = -distances.astype(np.float64) / temperature
        weights = np.exp(logits - logits.max())
        weights /= weights.sum()
        unique, inverse = np.unique(tokens, return_inverse=True)
        return unique, np.bincount(inverse, weights=weights)
