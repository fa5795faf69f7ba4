"""What went into a completion, for mochi.explainCompletion and the hover: the routing
decision and the context snippets of the prompt. Free of LSP."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mochi.rag.prompting.context import ContextSnippet
from mochi.server.routing import RouteDecision

PREVIEW_CHARS = 80


@dataclass(frozen=True, slots=True)
class ContextUse:
    """One snippet of cross-file context as it went into the prompt (lines 1-based)."""

    path: str
    start_line: int
    end_line: int
    symbol: str
    preview: str  # its first characters, on one line


def context_uses(snippets: Sequence[ContextSnippet]) -> tuple[ContextUse, ...]:
    return tuple(
        ContextUse(
            path=s.path,
            start_line=s.start_line,
            end_line=s.start_line + max(0, s.text.rstrip("\n").count("\n")),
            symbol=s.symbol,
            preview=" ".join(s.text.split())[:PREVIEW_CHARS],
        )
        for s in snippets
    )


@dataclass(frozen=True, slots=True)
class CompletionRecord:
    """The last completion served for a document."""

    uri: str
    path: str
    line: int  # 0-based, as in LSP
    character: int
    adapter: str | None  # the adapter the back end used
    route: RouteDecision
    contexts: tuple[ContextUse, ...]
    empty: bool  # the model had nothing worth showing
    served_at: float = field(default_factory=time.time)
    expert_set: str | None = None  # the expert set in service then ("default v2")


def explanation(record: CompletionRecord) -> dict[str, Any]:
    """The JSON answer of mochi.explainCompletion."""
    route = record.route
    return {
        "uri": record.uri,
        "path": record.path,
        "position": {"line": record.line, "character": record.character},
        "expert": route.expert,
        "adapter": record.adapter,
        "reason": route.reason,
        "confidence": route.confidence,
        "weights": [{"expert": name, "weight": weight} for name, weight in route.weights],
        "scores": dict(sorted(route.scores.items(), key=lambda kv: -kv[1])),
        "context": [
            {
                "path": c.path,
                "range": {"startLine": c.start_line, "endLine": c.end_line},
                "symbol": c.symbol or None,
                "preview": c.preview,
            }
            for c in record.contexts
        ],
        "empty": record.empty,
        "servedAt": record.served_at,
        "expertSet": record.expert_set,
    }


def route_summary(record: CompletionRecord) -> str:
    """One Markdown line for the hover: 'Last completion: expert X (gate, confidence 0.92)'."""
    route = record.route
    who = f"expert `{route.expert}`" if route.expert else "the base model"
    shown = f"; {len(record.contexts)} context snippets" if record.contexts else ""
    return f"**Last completion:** {who} ({route.reason}, confidence {route.confidence:.2f}){shown}"
