"""Seeded percentile-bootstrap confidence intervals: a mean, a paired difference and a
ratio of means (tasks resampled together, so the pairing is kept)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

DEFAULT_RESAMPLES = 1000


@dataclass(frozen=True, slots=True)
class Estimate:
    """A point estimate with a (1 - alpha) percentile-bootstrap interval."""

    value: float
    low: float
    high: float

    def to_json(self) -> dict[str, float | None]:
        """Plain JSON: an undefined value (a ratio to a zero base) is null."""
        return {"value": _finite(self.value), "low": _finite(self.low), "high": _finite(self.high)}


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _indices(n: int, resamples: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, n, size=(resamples, n))


def _interval(values: np.ndarray, alpha: float) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return float("nan"), float("nan")
    low, high = np.percentile(finite, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return float(low), float(high)


def _check(n: int, resamples: int, alpha: float) -> None:
    if n == 0:
        raise ValueError("no values to bootstrap")
    if resamples <= 0:
        raise ValueError("resamples must be > 0")
    if not 0.0 < alpha < 1.0:
        raise ValueError("alpha must be in (0, 1)")


def _paired(values: Sequence[float], baseline: Sequence[float]) -> tuple[Any, Any]:
    """Two measurements of the same tasks in the same order, as float arrays."""
    a, b = np.asarray(values, dtype=float), np.asarray(baseline, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired samples differ in size: {a.size} vs {b.size}")
    return a, b


def bootstrap_mean(
    values: Sequence[float],
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    alpha: float = 0.05,
) -> Estimate:
    data = np.asarray(values, dtype=float)
    _check(data.size, resamples, alpha)
    means = data[_indices(data.size, resamples, seed)].mean(axis=1)
    return Estimate(float(data.mean()), *_interval(means, alpha))


def bootstrap_paired_difference(
    values: Sequence[float],
    baseline: Sequence[float],
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    alpha: float = 0.05,
) -> Estimate:
    """mean(values) - mean(baseline), the two measured on the same tasks in the same order."""
    a, b = _paired(values, baseline)
    return bootstrap_mean(a - b, resamples=resamples, seed=seed, alpha=alpha)


def bootstrap_ratio(
    values: Sequence[float],
    baseline: Sequence[float],
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    alpha: float = 0.05,
) -> Estimate:
    """mean(values) / mean(baseline) with paired resampling; nan where the base mean is 0."""
    a, b = _paired(values, baseline)
    _check(a.size, resamples, alpha)
    idx = _indices(a.size, resamples, seed)
    num, den = a[idx].mean(axis=1), b[idx].mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    value = float(a.mean() / b.mean()) if b.mean() > 0 else float("nan")
    return Estimate(value, *_interval(ratios, alpha))
