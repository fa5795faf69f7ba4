"""Scores of one predicted line against the line the author wrote (pure functions).

Shared by `mochi eval` and the trainer's eval gate: exact match and edit similarity on
the stripped strings, and exact match of the sequence of identifiers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
METRICS = ("exact_match", "edit_similarity", "identifier_match")


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions of one character each)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def exact_match(prediction: str, truth: str) -> float:
    """1.0 when the two are equal after stripping surrounding whitespace."""
    return float(prediction.strip() == truth.strip())


def edit_similarity(prediction: str, truth: str) -> float:
    """1 - Levenshtein / longer length, on stripped strings; 1.0 when both are empty."""
    p, t = prediction.strip(), truth.strip()
    longest = max(len(p), len(t))
    if longest == 0:
        return 1.0
    return 1.0 - levenshtein(p, t) / longest


def identifiers(text: str) -> list[str]:
    return IDENTIFIER.findall(text)


def identifier_match(prediction: str, truth: str) -> float:
    """1.0 when both strings hold the same identifiers in the same order."""
    return float(identifiers(prediction) == identifiers(truth))


@dataclass(frozen=True, slots=True)
class LineScores:
    exact_match: float
    edit_similarity: float
    identifier_match: float

    def get(self, metric: str) -> float:
        if metric not in METRICS:
            raise KeyError(f"unknown metric {metric!r}; known: {', '.join(METRICS)}")
        value: float = getattr(self, metric)
        return value


def score_line(prediction: str, truth: str) -> LineScores:
    return LineScores(
        exact_match=exact_match(prediction, truth),
        edit_similarity=edit_similarity(prediction, truth),
        identifier_match=identifier_match(prediction, truth),
    )
