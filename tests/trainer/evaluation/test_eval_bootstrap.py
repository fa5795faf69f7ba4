"""Bootstrap intervals: seeded, containing the estimate, paired, and ratios."""

from __future__ import annotations

import math

import pytest

from mochi.trainer.evaluation.bootstrap import (
    bootstrap_mean,
    bootstrap_paired_difference,
    bootstrap_ratio,
)

VALUES = [0.9, 0.1, 0.75, 1.0, 0.0, 0.2, 0.95, 0.3, 0.8, 1.0]


def test_mean_interval_is_seeded_and_contains_the_mean() -> None:
    first = bootstrap_mean(VALUES, resamples=500, seed=3)
    again = bootstrap_mean(VALUES, resamples=500, seed=3)
    other = bootstrap_mean(VALUES, resamples=500, seed=4)
    assert first == again
    assert first != other
    assert first.value == pytest.approx(0.6)
    assert 0.0 <= first.low < 0.6 < first.high <= 1.0


def test_constant_values_give_a_point_interval() -> None:
    estimate = bootstrap_mean([0.25] * 7, resamples=200)
    assert (estimate.value, estimate.low, estimate.high) == pytest.approx((0.25, 0.25, 0.25))


def test_paired_difference_has_the_sign_of_the_improvement() -> None:
    base = [0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0]
    better = [1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0]  # never worse, 3 tasks better
    up = bootstrap_paired_difference(better, base, resamples=500)
    down = bootstrap_paired_difference(base, better, resamples=500)
    assert up.value == pytest.approx(3 / 8)
    assert up.low >= 0.0 and up.high > 0.0
    assert down.value == pytest.approx(-3 / 8)
    assert down.high <= 0.0
    with pytest.raises(ValueError):
        bootstrap_paired_difference([1.0], [1.0, 0.0])


def test_ratio_of_means_with_paired_resampling() -> None:
    ratio = bootstrap_ratio([1.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0], resamples=500)
    assert ratio.value == pytest.approx(2.0)
    assert ratio.low <= 2.0 <= ratio.high
    undefined = bootstrap_ratio([1.0, 0.0], [0.0, 0.0], resamples=50)
    assert math.isnan(undefined.value)
    assert undefined.to_json() == {"value": None, "low": None, "high": None}


def test_empty_input_is_an_error() -> None:
    with pytest.raises(ValueError, match="no values"):
        bootstrap_mean([])
