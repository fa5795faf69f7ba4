"""The learned router: pinned expert and rules first, then a gate over the request's
route features (the code before the cursor), the base model when it is unsure."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from mochi.rag.routing import CentroidGate, Gate, GateError, route_features, top_k
from mochi.rag.routing.features import DEFAULT_CONTEXT_CHARS, EmbedTexts
from mochi.server.routing.router import RouteDecision, RouteQuery, RuleRouter

log = logging.getLogger(__name__)


class LearnedRouter:
    """Routes once per request: the pin, then the first matching rule, then the gate's
    top expert among the loaded ones (its confidence is the gate's probability, before
    the experts that are not loaded are set aside); the base model below `threshold`.
    When no scored expert is loaded, the rule router's fallback (language, "default")
    answers. `choose` (path and language only, no embedding) never reaches the gate."""

    def __init__(
        self,
        gate: Gate,
        embed: EmbedTexts,
        *,
        threshold: float = 0.4,
        top_k: int = 1,
        rules: Sequence[tuple[str, str]] = (),
        pinned: str | None = None,
        context_chars: int = DEFAULT_CONTEXT_CHARS,
    ) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be between 0 and 1, got {threshold}")
        if top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}")
        self.gate = gate
        self._embed = embed
        self._threshold = threshold
        self._top_k = top_k
        self._context_chars = context_chars
        self._rules = RuleRouter(rules, pinned)
        self._kind = "centroid" if isinstance(gate, CentroidGate) else "gate"

    def select(self, name: str | None) -> None:
        self._rules.select(name)

    def selected(self) -> str | None:
        return self._rules.selected()

    def choose(self, path: str, language: str, available: Sequence[str]) -> str | None:
        return self._rules.choose(path, language, available)

    def route(self, query: RouteQuery, available: Sequence[str]) -> RouteDecision:
        manual = self._rules.manual(query.path, available)
        if manual is not None:
            return manual
        if not any(name in available for name in self.gate.experts):
            return self._rules.fallback(query.language, available)  # nothing to embed for
        try:
            scores = self.gate.score(
                route_features(
                    query.kind,
                    query.language,
                    query.path,
                    query.before_cursor,
                    self._embed,
                    self._context_chars,
                )
            )
        except GateError as exc:  # an embedder that does not fit the gate
            log.warning("the router's gate cannot read this request: %s", exc)
            return self._rules.fallback(query.language, available)
        loaded = {name: p for name, p in scores.items() if name in available}
        if not loaded:
            return self._rules.fallback(query.language, available)
        choice = top_k(loaded, self._top_k, self._threshold)
        if choice.base:
            reason = f"{self._kind}: below threshold {self._threshold:g} -> base"
            return RouteDecision(None, reason, (), choice.confidence, scores)
        return RouteDecision(choice.expert, self._kind, choice.weights, choice.confidence, scores)
