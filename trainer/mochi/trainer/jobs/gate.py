"""The eval gate. With held-out future commits (`future_gate`): a new adapter version
goes into service only if it completes their lines better (mean edit similarity, through
the served pipeline) than the version in service, or the base model for the first one,
and its held-out loss did not regress beyond a tolerance. Without them (a short history):
only if, on the same held-out samples, it is not worse than the version in service."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from mochi.trainer.jobs.future_gate import FutureScores


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


@dataclass(frozen=True, slots=True)
class FutureComparison:
    """Both versions on the lines of the held-out future commits."""

    candidate: FutureScores
    reference: FutureScores
    reference_name: str  # "v3 (in service)" or "the base model"


def gate(
    candidate: Scores,
    current: Scores | None,
    tolerance: float,
    *,
    future: FutureComparison | None = None,
) -> GateDecision:
    """`tolerance` is relative for the loss (0.02: up to 2 % higher) and absolute for the
    next-line exact match (0.02: up to 2 points lower); the future edit similarity must
    be strictly higher."""
    if tolerance < 0:
        raise ValueError(f"gate tolerance must be ≥ 0, got {tolerance!r}")
    if future is not None:
        return _future_gate(candidate, current, tolerance, future)
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


def _future_gate(
    candidate: Scores, current: Scores | None, tolerance: float, future: FutureComparison
) -> GateDecision:
    new, old = future.candidate, future.reference
    scores = (
        f"edit similarity {new.edit_similarity:.3f} vs {old.edit_similarity:.3f} "
        f"({future.reference_name}), exact match {new.exact_match:.3f} vs "
        f"{old.exact_match:.3f}, on {new.count} lines of the held-out commits"
    )
    if current is not None and current.count and candidate.count:
        loss_limit = current.loss + tolerance * abs(current.loss)
        if _bad(candidate.loss) or (not _bad(current.loss) and candidate.loss > loss_limit):
            return GateDecision(
                False,
                f"eval loss regressed: {candidate.loss:.4f} vs {current.loss:.4f} in service "
                f"(allowed up to {loss_limit:.4f}); {scores}",
            )
    if new.edit_similarity <= old.edit_similarity:
        return GateDecision(False, f"does not beat {future.reference_name}: {scores}")
    return GateDecision(True, f"beats {future.reference_name}: {scores}")


def _bad(value: float) -> bool:
    return math.isnan(value) or math.isinf(value)
