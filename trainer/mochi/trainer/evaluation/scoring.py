"""The report's numbers: per configuration the mean of each metric with a bootstrap CI,
the paired difference against the base model, and the exact-match ratio to the base."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mochi.trainer.evaluation.bootstrap import (
    bootstrap_mean,
    bootstrap_paired_difference,
    bootstrap_ratio,
)
from mochi.trainer.evaluation.metrics import METRICS, LineScores, score_line
from mochi.trainer.evaluation.results import Result
from mochi.trainer.evaluation.tasks import Task


def _column(scores: Sequence[LineScores], metric: str) -> list[float]:
    return [s.get(metric) for s in scores]


def score_subset(
    tasks: Sequence[Task],
    results: Mapping[tuple[str, str], Result],
    configs: Sequence[str],
    base: str,
    *,
    resamples: int,
    seed: int,
) -> dict[str, Any]:
    """Scores of `configs` on `tasks` (each must have a result for every task)."""
    if not tasks:
        return {"n": 0, "configs": {}}
    scores = {
        name: [score_line(results[(name, t.id)].prediction, t.truth) for t in tasks]
        for name in configs
    }
    out: dict[str, Any] = {}
    for name in configs:
        entry: dict[str, Any] = {"n": len(tasks)}
        for metric in METRICS:
            values = _column(scores[name], metric)
            entry[metric] = bootstrap_mean(values, resamples=resamples, seed=seed).to_json()
        if name != base:
            entry["difference_vs_base"] = {
                metric: bootstrap_paired_difference(
                    _column(scores[name], metric),
                    _column(scores[base], metric),
                    resamples=resamples,
                    seed=seed,
                ).to_json()
                for metric in METRICS
            }
            entry["exact_match_ratio_vs_base"] = bootstrap_ratio(
                _column(scores[name], "exact_match"),
                _column(scores[base], "exact_match"),
                resamples=resamples,
                seed=seed,
            ).to_json()
        out[name] = entry
    return {"n": len(tasks), "configs": out}
