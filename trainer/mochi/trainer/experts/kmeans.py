"""k-means in numpy: k-means++ seeding from a seeded generator, Lloyd steps until no point
changes cluster. The same points and seed give the same clusters."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float64]
MAX_ITERATIONS = 100


def kmeans(points: Matrix, k: int, seed: int) -> npt.NDArray[np.int64]:
    """The cluster (0..k'-1, k' = min(k, distinct points)) of each row of `points`,
    numbered by first appearance so that the labels themselves are stable."""
    if points.ndim != 2 or len(points) == 0:
        raise ValueError(f"k-means needs a non-empty 2-d array of points, got {points.shape}")
    if k < 1:
        raise ValueError(f"k-means needs k >= 1, got {k}")
    k = min(k, len(np.unique(points, axis=0)))
    rng = np.random.default_rng(seed)
    centres = _plus_plus(points, k, rng)
    labels = np.full(len(points), -1, dtype=np.int64)
    for _ in range(MAX_ITERATIONS):
        distances = _squared_distances(points, centres)
        new = distances.argmin(axis=1)
        if np.array_equal(new, labels):
            break
        labels = new
        for cluster in range(k):
            members = points[labels == cluster]
            if len(members):
                centres[cluster] = members.mean(axis=0)
            else:  # an emptied cluster restarts at the point farthest from its centre
                far = int(distances.min(axis=1).argmax())
                centres[cluster] = points[far]
    return _renumbered(labels)


def _plus_plus(points: Matrix, k: int, rng: np.random.Generator) -> Matrix:
    centres = [points[int(rng.integers(len(points)))]]
    for _ in range(1, k):
        nearest = _squared_distances(points, np.array(centres)).min(axis=1)
        total = float(nearest.sum())
        if total <= 0:
            break
        centres.append(points[int(rng.choice(len(points), p=nearest / total))])
    return np.array(centres, dtype=np.float64)


def _squared_distances(points: Matrix, centres: Matrix) -> Matrix:
    """|p - c|² as |p|² - 2 p·c + |c|² (no n × k × dim temporary), never below 0."""
    squared = (points * points).sum(axis=1)[:, None] + (centres * centres).sum(axis=1)[None, :]
    return np.asarray(np.maximum(squared - 2.0 * points @ centres.T, 0.0), dtype=np.float64)


def _renumbered(labels: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    order: dict[int, int] = {}
    for label in labels.tolist():
        order.setdefault(label, len(order))
    return np.array([order[label] for label in labels.tolist()], dtype=np.int64)
