"""The sources an answer may cite: retrieval hits, reranked, numbered and trimmed.

The rerank is cheap and deterministic. Each candidate's score is

    0.5 × rank score      1 − rank / candidates (the retriever's order, 1 for the top hit)
  + 0.35 × term overlap    the share of the question's terms (words and identifier parts,
                           lower-cased, stop words left out) that occur in the hit's text,
                           symbol or path
  + 0.15 × identifiers     the share of the question's code identifiers (`snake_case`,
                           `camelCase`, `dotted.names`) found verbatim in the hit's text

ties keep the retriever's order. A candidate whose lines overlap a better one of the same
file is left out, and commits are left out: an answer cites `path:line` in the workspace.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mochi.rag.retrieval.unit_merge import ELISION
from mochi.rag.types import Hit

RANK_WEIGHT, OVERLAP_WEIGHT, IDENTIFIER_WEIGHT = 0.5, 0.35, 0.15
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+|[A-Za-z0-9_]+")
_CAMEL = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_STOP_WORDS_TEXT = """a about above after again all also an and any are as at be because been before
    being below between both but by can could did do does doing done down during each few for from
    further had has have having he her here how i if in into is it its itself just me more
    most my no nor not now of off on once only or other our out over own same she should so
    some such than that the their them then there these they this those through to too under
    until up very was we were what when where which while who whom why will with would you
    your explain tell show code file line lines please yes use used uses using work works"""
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())


@dataclass(frozen=True, slots=True)
class Source:
    """A numbered passage given to the LLM. `text` holds the lines start_line..end_line."""

    number: int  # 1-based, as the prompt shows it: [1] path:start-end
    path: str
    start_line: int
    end_line: int
    text: str
    symbol: str = ""
    kind: str = ""
    score: float = 0.0  # the rerank score

    @property
    def label(self) -> str:
        return f"{self.path}:{self.start_line}-{self.end_line}"

    def numbered_lines(self) -> list[tuple[int, str]]:
        return [(self.start_line + i, ln) for i, ln in enumerate(self.text.split("\n"))]


def terms(text: str) -> set[str]:
    """Lower-cased words and identifier parts (`parse_config` → parse_config, parse,
    config; `HttpClient` → httpclient, http, client), stop words and 1–2 letter words
    left out."""
    found: set[str] = set()
    for word in _WORD.findall(text):
        parts = [p for piece in word.split("_") for p in _CAMEL.findall(piece)]
        for term in (word, *parts):
            low = term.lower()
            if len(low) > 2 and low not in STOP_WORDS and not low.isdigit():
                found.add(low)
    return found


def code_identifiers(text: str) -> set[str]:
    """The question's identifiers that look like code: with `_`, a dot, inner capitals,
    or in backticks."""
    quoted = set(re.findall(r"`([^`]+)`", text))
    found = {w for q in quoted for w in _IDENTIFIER.findall(q)}
    for word in _IDENTIFIER.findall(text):
        if "_" in word.strip("_") or "." in word or re.search(r"[a-z][A-Z]", word):
            found.add(word)
    return {w for w in found if len(w) > 2}


def _share(wanted: set[str], present: set[str]) -> float:
    return len(wanted & present) / len(wanted) if wanted else 0.0


def rerank_score(question: str, hit: Hit, rank: int, candidates: int) -> float:
    """The rerank score of the hit at 0-based `rank` among `candidates` (see above)."""
    rank_score = 1.0 - rank / max(1, candidates)
    overlap = _share(terms(question), terms(f"{hit.text}\n{hit.symbol}\n{hit.path}"))
    wanted = code_identifiers(question)
    identifiers = sum(1 for w in wanted if w in hit.text) / len(wanted) if wanted else 0.0
    return RANK_WEIGHT * rank_score + OVERLAP_WEIGHT * overlap + IDENTIFIER_WEIGHT * identifiers


def _overlaps(a: Hit, b: Hit) -> bool:
    return a.path == b.path and a.start_line <= b.end_line and b.start_line <= a.end_line


def rerank(question: str, hits: Sequence[Hit], limit: int) -> list[tuple[Hit, float]]:
    """The best `limit` hits with their scores, best first; commits and hits overlapping a
    better one of the same file left out."""
    usable = [h for h in hits if h.source != "commit" and h.text.strip()]
    scored = [(h, rerank_score(question, h, i, len(usable))) for i, h in enumerate(usable)]
    order = sorted(range(len(scored)), key=lambda i: (-scored[i][1], i))
    chosen: list[tuple[Hit, float]] = []
    for i in order:
        hit = scored[i][0]
        if any(_overlaps(hit, kept) for kept, _ in chosen):
            continue
        chosen.append(scored[i])
        if len(chosen) == limit:
            break
    return chosen


def trimmed(hit: Hit, max_chars: int) -> tuple[str, int]:
    """The hit's text cut to whole lines within `max_chars` (at least one line) and
    before the first gap of merged pieces, and the last line kept: a citation must point
    at a line the LLM was shown."""
    lines = hit.text.split("\n")
    elided = len(lines) != hit.end_line - hit.start_line + 1  # pieces joined by "..."
    kept: list[str] = []
    size = 0
    for line in lines:
        if kept and (size + len(line) + 1 > max_chars or (elided and line == ELISION)):
            break
        kept.append(line[:max_chars])
        size += len(line) + 1
    while len(kept) > 1 and not kept[-1].strip():
        kept.pop()
    return "\n".join(kept), min(hit.end_line, hit.start_line + len(kept) - 1)


def make_sources(ranked: Iterable[tuple[Hit, float]], max_chars: int) -> list[Source]:
    sources = []
    for number, (hit, score) in enumerate(ranked, start=1):
        text, end_line = trimmed(hit, max_chars)
        sources.append(
            Source(number, hit.path, hit.start_line, end_line, text, hit.symbol, hit.kind, score)
        )
    return sources
