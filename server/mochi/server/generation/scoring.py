"""How likely the model finds a text: per-token log-probabilities under a model (and an
adapter), the measure behind convention findings and candidate ranking.

`Scorer.score` is blocking, like `Generator.generate`: call it from worker threads.
A back end that cannot score (the vLLM back end today) does not implement it; use
`scorer_of` to ask.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from mochi.server.generation.types import CancelToken


@dataclass(frozen=True, slots=True)
class ScoreRequest:
    text: str  # what is scored
    context: str = ""  # read before it, not scored (e.g. the file above a candidate)
    adapter: str | None = None  # LoRA expert; None = the base model


@dataclass(frozen=True, slots=True)
class TokenScores:
    """One entry per token of `text`: where it starts (a character offset into `text`)
    and its natural-log probability given everything before it."""

    offsets: tuple[int, ...]
    logprobs: tuple[float, ...]
    adapter: str | None = None

    def __post_init__(self) -> None:
        if len(self.offsets) != len(self.logprobs):
            raise ValueError("offsets and logprobs differ in length")

    @property
    def total(self) -> float:
        return sum(self.logprobs)

    def mean(self) -> float:
        """Mean log-probability per token (0.0 for no tokens): comparable across lengths."""
        return self.total / len(self.logprobs) if self.logprobs else 0.0

    def perplexity(self) -> float:
        return math.exp(-self.mean())

    def spans(self, text_length: int) -> list[tuple[int, int, float]]:
        """(start, end, logprob) per token, each ending where the next starts."""
        ends = [*self.offsets[1:], text_length]
        return [
            (s, max(s, e), lp) for s, e, lp in zip(self.offsets, ends, self.logprobs, strict=True)
        ]


@runtime_checkable
class Scorer(Protocol):
    def score(self, request: ScoreRequest, cancel: CancelToken) -> TokenScores: ...


def scorer_of(generator: object) -> Scorer | None:
    """The generator's scorer, or None when its back end cannot score."""
    return generator if isinstance(generator, Scorer) else None
