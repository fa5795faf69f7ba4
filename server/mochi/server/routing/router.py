"""Which LoRA expert answers a request: the routing contract and the rule router."""

from __future__ import annotations

import fnmatch
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

NO_EXPERT = "none"  # pinned: the base model answers, whatever adapters are loaded


@dataclass(frozen=True, slots=True)
class RouteQuery:
    """What a router may look at: the request kind ("completion", "inline", ...), the
    workspace-relative path, its language and the document's text before the cursor."""

    kind: str
    path: str
    language: str
    before_cursor: str = ""


@dataclass(frozen=True, slots=True)
class RouteDecision:
    """The expert that answers (None: the base model) and why."""

    expert: str | None
    reason: str  # "pinned", "rule 'docs/**'", "gate", "centroid", "language", ...
    weights: tuple[tuple[str, float], ...] = ()  # chosen experts, weights summing to 1
    confidence: float = 1.0
    scores: Mapping[str, float] = field(default_factory=dict)  # the gate's, per expert


class ExpertRouter(Protocol):
    def route(self, query: RouteQuery, available: Sequence[str]) -> RouteDecision:
        """The decision for one request, among the adapters in `available` (may embed
        the text: call it off the event loop)."""
        ...

    def choose(self, path: str, language: str, available: Sequence[str]) -> str | None:
        """An adapter name among `available`, or None for the base model, from the path
        and language alone (cheap: no model work)."""
        ...

    def select(self, name: str | None) -> None:
        """Pin one expert (mochi.selectExpert), or NO_EXPERT for the base model; None
        returns to automatic choice."""
        ...

    def selected(self) -> str | None: ...


def parse_rule(text: str) -> tuple[str, str]:
    """'docs/** = docs' -> ('docs/**', 'docs'); ValueError when it is not that shape."""
    glob, sep, expert = text.rpartition("=")
    glob, expert = glob.strip(), expert.strip()
    if not sep or not glob or not expert:
        raise ValueError(f"a routing rule reads 'glob = expert', got {text!r}")
    return glob, expert


def _decided(expert: str, reason: str) -> RouteDecision:
    return RouteDecision(expert, reason, ((expert, 1.0),), 1.0)


class RuleRouter:
    """Pinned expert first (NO_EXPERT: the base); else the first rule whose glob matches the
    path; else an expert named after the language; else the one named "default"; else the
    base."""

    def __init__(self, rules: Sequence[tuple[str, str]] = (), pinned: str | None = None) -> None:
        self._rules = list(rules)
        self._pinned = pinned
        self._lock = threading.Lock()

    def select(self, name: str | None) -> None:
        with self._lock:
            self._pinned = name or None

    def selected(self) -> str | None:
        return self._pinned

    def manual(self, path: str, available: Sequence[str]) -> RouteDecision | None:
        """The pinned expert's or a rule's decision; None when neither applies."""
        pinned = self._pinned
        if pinned == NO_EXPERT:
            return RouteDecision(None, "pinned", (), 1.0)
        if pinned is not None and pinned in available:
            return _decided(pinned, "pinned")
        for glob, expert in self._rules:
            if expert in available and fnmatch.fnmatchcase(path, glob):
                return _decided(expert, f"rule {glob!r}")
        return None

    def fallback(self, language: str, available: Sequence[str]) -> RouteDecision:
        if language in available:
            return _decided(language, "language")
        if "default" in available:
            return _decided("default", "default")
        return RouteDecision(None, "no expert", (), 1.0)

    def route(self, query: RouteQuery, available: Sequence[str]) -> RouteDecision:
        decided = self.manual(query.path, available)
        return decided or self.fallback(query.language, available)

    def choose(self, path: str, language: str, available: Sequence[str]) -> str | None:
        return self.route(RouteQuery("other", path, language), available).expert
