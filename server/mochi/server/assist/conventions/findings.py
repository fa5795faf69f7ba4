"""What a convention check reports, and the settings that shape it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

KINDS = ("surprise", "naming")


@dataclass(frozen=True)
class ConventionFinding:
    """One place where code is unusual for this repository.

    `line` counts from 0, `start`/`end` are columns (characters) of the span the finding
    covers; `suggestion`, when there is one, is what the repository usually writes there
    and replaces exactly that span.
    """

    path: str
    line: int
    start: int
    end: int
    kind: str  # "surprise" | "naming"
    message: str
    score: float  # surprise: nats per token; naming: the share of the dominant style
    suggestion: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class CheckSettings:
    """How a check runs (the `[diagnostics]` section builds one)."""

    quantile: float = 0.97  # a line is surprising above this quantile of the repository's
    max_findings: int = 10  # per kind, the highest scores first
    min_tokens: int = 3  # lines with fewer scored tokens are not judged
    surprise: bool = True
    naming: bool = True
    naming_share: float = 0.8  # a style dominates a kind from this share of its names on
    naming_min_names: int = 5  # ... and this many names
    suggest: bool = True  # a greedy completion of each surprising line, when possible
    suggestion_tokens: int = 48
    prompt_chars: int = 6000  # the file above a surprising line given to the completion

    def __post_init__(self) -> None:
        if not 0.0 < self.quantile < 1.0:
            raise ValueError("quantile must be between 0 and 1")
        if self.max_findings < 1 or self.min_tokens < 1 or self.naming_min_names < 1:
            raise ValueError("max_findings, min_tokens and naming_min_names must be >= 1")
        if not 0.5 <= self.naming_share <= 1.0:
            raise ValueError("naming_share must be between 0.5 and 1")
