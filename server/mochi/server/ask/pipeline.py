"""Asking: retrieve, rerank, prompt, answer, cite.

`find_sources` runs on the index's thread, `answer` on the model's (or any worker):
the language server runs them apart; `ask` runs both in turn (the CLI, MCP).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from mochi.rag.protocols import Retriever
from mochi.rag.types import SearchFilters
from mochi.server.ask.chat import AskError, ChatModel
from mochi.server.ask.citations import Citation, Claim, cite
from mochi.server.ask.prompt import messages_for
from mochi.server.ask.sources import Source, make_sources, rerank
from mochi.server.config import AskConfig
from mochi.server.generation import CancelToken, GenerationCancelled

Progress = Callable[[str], None]


class NoSources(AskError):
    """The index has nothing to answer from."""


@dataclass(frozen=True, slots=True)
class AskSettings:
    max_sources: int = 5
    candidates: int = 20
    max_tokens: int = 384
    source_chars: int = 1500
    filters: SearchFilters | None = None

    @classmethod
    def from_config(cls, config: AskConfig, filters: SearchFilters | None = None) -> AskSettings:
        return cls(
            max_sources=config.max_sources,
            candidates=config.candidates,
            max_tokens=config.max_tokens,
            source_chars=config.source_chars,
            filters=filters,
        )


@dataclass(frozen=True, slots=True)
class AskResult:
    question: str
    answer: str  # with `[path:line]` citations
    citations: tuple[Citation, ...]
    claims: tuple[Claim, ...]
    sources: tuple[Source, ...]
    rejected: tuple[str, ...]  # citations the LLM wrote that point outside the sources
    model: str  # what answered
    raw_answer: str  # the LLM's text as it came

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape the CLI (--json), the LSP command and MCP return."""
        return {
            "question": self.question,
            "answer": self.answer,
            "model": self.model,
            "citations": [
                {
                    "path": c.path,
                    "line": c.line,
                    "endLine": c.end_line,
                    "how": c.how,
                    "source": c.source,
                    "claim": c.claim,
                }
                for c in self.citations
            ],
            "sources": [
                {
                    "number": s.number,
                    "path": s.path,
                    "startLine": s.start_line,
                    "endLine": s.end_line,
                    "symbol": s.symbol,
                    "kind": s.kind,
                    "score": round(s.score, 4),
                }
                for s in self.sources
            ],
            "rejected": list(self.rejected),
        }


def find_sources(question: str, retriever: Retriever, settings: AskSettings) -> list[Source]:
    """The reranked, numbered sources for `question`; NoSources when there are none."""
    if not question.strip():
        raise AskError("the question is empty")
    hits = retriever.retrieve(question, settings.candidates, settings.filters)
    ranked = rerank(question, hits, settings.max_sources)
    if not ranked:
        raise NoSources(
            "the index has no sources for this question: index the workspace first "
            "(`mochi index`), or loosen the filters"
        )
    return make_sources(ranked, settings.source_chars)


def answer(
    question: str,
    sources: Sequence[Source],
    chat: ChatModel,
    settings: AskSettings,
    cancel: CancelToken,
    progress: Progress | None = None,
) -> AskResult:
    """Ask `chat` about `sources` and check the citations of its answer."""
    report = progress or (lambda _message: None)
    if cancel.is_set():
        raise GenerationCancelled()
    report(f"asking {chat.name}")
    raw = chat.chat(messages_for(question, sources), settings.max_tokens, cancel)
    report("checking citations")
    cited = cite(raw, sources)
    return AskResult(
        question=question,
        answer=cited.text,
        citations=cited.citations,
        claims=cited.claims,
        sources=tuple(sources),
        rejected=cited.rejected,
        model=chat.name,
        raw_answer=raw,
    )


def ask(
    question: str,
    retriever: Retriever,
    chat: ChatModel,
    settings: AskSettings,
    cancel: CancelToken,
    progress: Progress | None = None,
) -> AskResult:
    """Retrieve, rerank, ask and cite, in this thread."""
    if progress is not None:
        progress("retrieving sources")
    sources = find_sources(question, retriever, settings)
    return answer(question, sources, chat, settings, cancel, progress)
