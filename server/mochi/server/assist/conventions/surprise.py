"""Per-line surprise: the mean negative log-probability (nats per token) of a line's
tokens given the file above it, from one scoring pass over the whole file."""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from mochi.server.generation.scoring import Scorer, ScoreRequest, TokenScores
from mochi.server.generation.types import CancelToken

# Lines that hold only a comment are prose: not judged as code.
COMMENT_STARTS = ("#", "//", "/*", "*", "--", ";")
QUANTILE_POINTS = 201  # the stored distribution: every half percent
# A line that starts within the file's first tokens has almost nothing to be predicted
# from (any file's first line is "surprising"): not judged.
MIN_CONTEXT_TOKENS = 8


@dataclass(frozen=True, slots=True)
class LineSurprise:
    line: int  # 0-based
    start: int  # the first column after the indentation
    end: int  # the line's end, trailing spaces left out
    tokens: int
    surprise: float  # mean -log p over the line's tokens, nats


def judged(line: str) -> bool:
    """Whether a line is code worth judging (not blank, not only a comment)."""
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith(COMMENT_STARTS)


def score_text(scorer: Scorer, text: str, adapter: str | None, cancel: CancelToken) -> TokenScores:
    return scorer.score(ScoreRequest(text, "", adapter), cancel)


def line_surprises(
    text: str,
    scores: TokenScores,
    min_tokens: int = 3,
    min_context: int = MIN_CONTEXT_TOKENS,
) -> list[LineSurprise]:
    """Each judged line with at least `min_tokens` tokens, after the first `min_context`
    tokens of the text. A token belongs to the line of its first non-space character;
    tokens of only whitespace (indentation, newlines) are left out, so indentation never
    counts."""
    lines = text.split("\n")
    starts = [0]
    for line in lines[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    sums = [0.0] * len(lines)
    counts = [0] * len(lines)
    first = [len(scores.offsets)] * len(lines)  # each line's first token
    for index, (start, end, logprob) in enumerate(scores.spans(len(text))):
        piece = text[start:end]
        stripped = piece.lstrip()
        if not stripped:
            continue
        at = start + len(piece) - len(stripped)
        row = bisect.bisect_right(starts, at) - 1
        first[row] = min(first[row], index)
        sums[row] -= logprob
        counts[row] += 1
    out = []
    for row, line in enumerate(lines):
        if counts[row] < min_tokens or first[row] < min_context or not judged(line):
            continue
        indent = len(line) - len(line.lstrip())
        out.append(
            LineSurprise(row, indent, len(line.rstrip()), counts[row], sums[row] / counts[row])
        )
    return out


def quantile_table(values: list[float], points: int = QUANTILE_POINTS) -> tuple[float, ...]:
    """`points` evenly spaced quantiles (0 to 1) of `values`, linearly interpolated."""
    if not values:
        return ()
    ordered = sorted(values)
    return tuple(_interpolate(ordered, i / (points - 1)) for i in range(points))


def quantile(table: tuple[float, ...], q: float) -> float:
    """The q-quantile read from a table `quantile_table` made."""
    return _interpolate(list(table), q)


def rank(table: tuple[float, ...], value: float) -> float:
    """The share (0 to 1) of the distribution below `value`."""
    if not table:
        return 0.0
    if value <= table[0]:
        return 0.0
    if value >= table[-1]:
        return 1.0
    i = bisect.bisect_right(table, value) - 1
    low, high = table[i], table[i + 1]
    within = (value - low) / (high - low) if high > low else 0.0
    return (i + within) / (len(table) - 1)


def _interpolate(ordered: list[float], q: float) -> float:
    pos = min(max(q, 0.0), 1.0) * (len(ordered) - 1)
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)
