"""Which LoRA expert answers a request."""

from __future__ import annotations

import fnmatch
import threading
from collections.abc import Sequence
from typing import Protocol

NO_EXPERT = "none"  # pinned: the base model answers, whatever adapters are loaded


class ExpertRouter(Protocol):
    def choose(self, path: str, language: str, available: Sequence[str]) -> str | None:
        """An adapter name among `available`, or None for the base model."""
        ...

    def select(self, name: str | None) -> None:
        """Pin one expert (mochi.selectExpert), or NO_EXPERT for the base model; None
        returns to automatic choice."""
        ...

    def selected(self) -> str | None: ...


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

    def choose(self, path: str, language: str, available: Sequence[str]) -> str | None:
        pinned = self._pinned
        if pinned == NO_EXPERT:
            return None
        if pinned is not None and pinned in available:
            return pinned
        for glob, expert in self._rules:
            if expert in available and fnmatch.fnmatchcase(path, glob):
                return expert
        if language in available:
            return language
        return "default" if "default" in available else None
