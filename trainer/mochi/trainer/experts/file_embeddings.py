"""An embedding per file, for the k-means rule and the experts' centroids: the mean of the
unit embeddings of the file's sample texts (its chunks, as the index embeds them)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mochi.rag.routing.features import EmbedTexts
from mochi.trainer.samples import Sample

MAX_CHARS = 2000  # a sample's text is cut to this before it is embedded
BATCH = 64


def file_embeddings(
    samples: Sequence[Sample], embed: EmbedTexts, *, max_chars: int = MAX_CHARS
) -> dict[str, list[float]]:
    """Path -> unit mean embedding of the completions of its samples (samples without a
    path are left out)."""
    with_path = [s for s in samples if s.path]
    sums: dict[str, np.ndarray] = {}
    for start in range(0, len(with_path), BATCH):
        chunk = with_path[start : start + BATCH]
        raw = np.asarray(embed([s.completion[:max_chars] for s in chunk]), dtype=np.float64)
        if raw.shape[0] != len(chunk) or raw.ndim != 2:
            raise ValueError(f"embed returned shape {raw.shape} for {len(chunk)} texts")
        norms = np.linalg.norm(raw, axis=1, keepdims=True)
        units = np.divide(raw, norms, out=np.zeros_like(raw), where=norms > 0)
        for sample, unit in zip(chunk, units, strict=True):
            sums[sample.path] = sums[sample.path] + unit if sample.path in sums else unit
    found: dict[str, list[float]] = {}
    for path, total in sums.items():
        norm = float(np.linalg.norm(total))
        found[path] = (total / norm if norm > 0 else total).tolist()
    return found
