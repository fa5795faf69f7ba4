"""`rank_candidates`: how likely the repository-adapted model finds each code candidate
after a context, best first. Plain logic over a `Scorer`, free of the SDK and of how the
model was reached (in this process or in the language server's)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mochi.rag.languages import classify
from mochi.rag.prompting.window import split_at
from mochi.server.generation.scoring import Scorer, ScoreRequest
from mochi.server.generation.types import CancelToken
from mochi.server.mcp.workspace_files import ToolInputError, workspace_file

MAX_CANDIDATES = 32
MAX_CANDIDATE_CHARS = 8_000
# The scorer reads the context in windows; only its end conditions the candidates.
CONTEXT_CHARS = 6_000


@dataclass(frozen=True, slots=True)
class RankContext:
    """What the candidates follow: a file's text up to a cursor, or a prefix given as is."""

    text: str
    path: str = ""  # relative to the workspace ("" for a plain prefix)
    language: str = ""
    where: str = "the given prefix"


@dataclass(frozen=True, slots=True)
class CandidateScore:
    index: int  # 0-based position in the list the agent gave
    candidate: str
    mean_logprob: float  # per token: comparable across lengths
    total_logprob: float
    tokens: int


@dataclass(frozen=True, slots=True)
class Ranking:
    where: str
    adapter: str | None  # the LoRA expert that scored, None for the base model
    scores: tuple[CandidateScore, ...]  # best first

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Ranking:
        scores = tuple(CandidateScore(**s) for s in data["scores"])
        return cls(str(data["where"]), data.get("adapter"), scores)


def rank_context(root: Path, path: str, line: int, column: int, prefix: str) -> RankContext:
    """The context from a workspace file and a 1-based cursor (column 0: the end of the
    line), or from a plain prefix text: exactly one of them."""
    if bool(path) == bool(prefix):
        raise ToolInputError("give either path (with line and column) or prefix, not both")
    if not path:
        return RankContext(prefix[-CONTEXT_CHARS:])
    if line <= 0:
        raise ToolInputError("line must be a positive (1-based) line number")
    rel, text = workspace_file(root, path)
    lines = text.split("\n")
    if line > len(lines):
        raise ToolInputError(f"{rel} has {len(lines)} lines, not {line}")
    character = len(lines[line - 1]) if column <= 0 else min(column - 1, len(lines[line - 1]))
    before, _ = split_at(text, line - 1, character)
    language, _ = classify(rel)
    return RankContext(before[-CONTEXT_CHARS:], rel, language, f"{rel}:{line}:{character + 1}")


def check_candidates(candidates: Sequence[str]) -> None:
    if not candidates:
        raise ToolInputError("candidates is empty: give the code strings to rank")
    if len(candidates) > MAX_CANDIDATES:
        raise ToolInputError(f"at most {MAX_CANDIDATES} candidates at a time")
    for i, candidate in enumerate(candidates):
        if not candidate.strip():
            raise ToolInputError(f"candidate {i} is empty")
        if len(candidate) > MAX_CANDIDATE_CHARS:
            raise ToolInputError(f"candidate {i} is over {MAX_CANDIDATE_CHARS} characters")


def rank(
    scorer: Scorer,
    context: RankContext,
    candidates: Sequence[str],
    adapter: str | None,
    cancel: CancelToken,
) -> Ranking:
    """Each candidate scored after the context; ties keep the agent's order."""
    check_candidates(candidates)
    scored: list[CandidateScore] = []
    for i, candidate in enumerate(candidates):
        tokens = scorer.score(ScoreRequest(candidate, context.text, adapter), cancel)
        scored.append(
            CandidateScore(i, candidate, tokens.mean(), tokens.total, len(tokens.logprobs))
        )
    scored.sort(key=lambda s: -s.mean_logprob)
    return Ranking(context.where, adapter, tuple(scored))


def format_ranking(ranking: Ranking) -> str:
    model = f"adapter {ranking.adapter!r}" if ranking.adapter else "the base model"
    head = f"Candidates after {ranking.where}, scored by {model} (mean log-prob per token):"
    rows: list[str] = []
    for rank_no, s in enumerate(ranking.scores, start=1):
        first = s.candidate.strip().split("\n", 1)[0]
        shown = first if len(first) <= 80 else first[:77] + "..."
        rows.append(
            f"{rank_no}. candidate {s.index}: mean {s.mean_logprob:.3f}, "
            f"total {s.total_logprob:.2f} over {s.tokens} tokens  | {shown}"
        )
    return "\n".join([head, *rows])
