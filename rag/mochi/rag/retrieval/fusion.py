"""Ways to merge a dense and a sparse ranking into one.

Plain reciprocal-rank fusion treats both lists as equally good; on CoSQA the
sparse list is much weaker than the dense one and RRF drags the dense ranking
down. The weighted blend normalises each list's scores to [0, 1] (min-max over
the candidates) and mixes them with a dense share `alpha`, so a strong dense
match keeps its lead while the sparse side breaks near-ties with exact terms.
"""

from __future__ import annotations

from collections.abc import Sequence

from mochi.rag.types import ScoredId


def _normalised(hits: Sequence[ScoredId]) -> dict[str, float]:
    if not hits:
        return {}
    scores = [h.score for h in hits]
    low, high = min(scores), max(scores)
    span = high - low
    if span <= 1e-12:
        return {h.id: 1.0 for h in hits}
    return {h.id: (h.score - low) / span for h in hits}


def weighted_fusion(
    dense: Sequence[ScoredId], sparse: Sequence[ScoredId], alpha: float
) -> list[ScoredId]:
    """alpha · dense_norm + (1 − alpha) · sparse_norm; a list that misses an id gives it 0."""
    d, s = _normalised(dense), _normalised(sparse)
    fused = {i: alpha * d.get(i, 0.0) + (1.0 - alpha) * s.get(i, 0.0) for i in d.keys() | s.keys()}
    return [ScoredId(i, v) for i, v in sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))]


def rrf_fusion(
    dense: Sequence[ScoredId],
    sparse: Sequence[ScoredId],
    k: int = 60,
    weights: tuple[float, float] = (1.0, 1.0),
) -> list[ScoredId]:
    fused: dict[str, float] = {}
    for hits, weight in ((dense, weights[0]), (sparse, weights[1])):
        for rank, hit in enumerate(hits):
            fused[hit.id] = fused.get(hit.id, 0.0) + weight / (k + rank + 1)
    return [ScoredId(i, v) for i, v in sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))]
