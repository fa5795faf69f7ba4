"""The eval gate: a new adapter version goes into service only if, on the same held-out
samples, it is not worse than the version in service beyond a tolerance."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol


class Scores(Protocol):
    """training.EvalScores has this shape."""

    @property
    def loss(self) -> float: ...

    @property
    def next_line_em(self) -> float: ...

    @property
    def count(self) -> int: ...


@dataclass(frozen=True, slots=True)
class GateDecision:
    publish: bool
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"publish": self.publish, "reason": self.reason}


def scores_json(scores: Scores | None) -> dict[str, float]:
    if scores is None:
        return {}
    return {"loss": scores.loss, "next_line_em": scores.next_line_em, "count": scores.count}


def gate(candidate: Scores, current: Scores | None, tolerance: float) -> GateDecision:
    """`tolerance` is relative for the loss (0.02: up to 2 % higher) and absolute for the
    next-line exact match (0.02: up to 2 points lower)."""
    if tolerance < 0:
        raise ValueError(f"gate tolerance must be ≥ 0, got {tolerance!r}")
    if current is None:
        return GateDecision(True, "no version in service: the first one is published")
    if candidate.count == 0 or current.count == 0:
        return GateDecision(False, "no held-out samples to compare the versions on")
    if _bad(candidate.loss):
        return GateDecision(False, f"the new version's eval loss is {candidate.loss}")
    loss_limit = current.loss + tolerance * abs(current.loss)
    if not _bad(current.loss) and candidate.loss > loss_limit:
        return GateDecision(
            False,
            f"eval loss regressed: {candidate.loss:.4f} vs {current.loss:.4f} in service "
            f"(allowed up to {loss_limit:.4f} with tolerance {tolerance})",
        )
    em_floor = current.next_line_em - tolerance
    if not _bad(current.next_line_em) and candidate.next_line_em < em_floor:
        return GateDecision(
            False,
            f"next-line exact match regressed: {candidate.next_line_em:.3f} vs "
            f"{current.next_line_em:.3f} in service (allowed down to {em_floor:.3f})",
        )
    return GateDecision(
        True,
        f"eval loss {candidate.loss:.4f} vs {current.loss:.4f}, next-line exact match "
        f"{candidate.next_line_em:.3f} vs {current.next_line_em:.3f}: within tolerance "
        f"{tolerance}",
    )


def _bad(value: float) -> bool:
    return math.isnan(value) or math.isinf(value)
