"""Which experts of a published set new commits touch: the files changed since the set
was trained (git, as the dataset builder reads it), each put in the domain it falls in.
Only those experts are retrained; the others keep their versions in the next set."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from mochi.rag.languages import classify
from mochi.rag.routing.expert_set import ExpertCard, ExpertSet
from mochi.trainer.datasets.repository import Repository
from mochi.trainer.experts.domains import OTHER, Embeddings, unit_embeddings


class ExpertAssigner:
    """Puts a file in one expert's domain the way the set was cut: by its language, by
    the globs of the cards, or by the nearest centroid; a file no card covers (a new
    language or folder) goes to the "other" expert, else to the largest one."""

    def __init__(self, expert_set: ExpertSet, embeddings: Embeddings | None = None) -> None:
        if not expert_set.experts:
            raise ValueError(f"expert set {expert_set.version} has no experts")
        self._set = expert_set
        self._units = unit_embeddings(embeddings) if embeddings else {}
        names = {card.name: card for card in expert_set.experts}
        self._fallback = (
            OTHER if OTHER in names else max(expert_set.experts, key=lambda c: c.samples).name
        )

    def expert_for(self, path: str) -> str:
        rule = self._set.rule
        if rule == "language":
            language = classify(path)[0]
            for card in self._set.experts:
                if language in card.languages:
                    return card.name
        if rule == "kmeans" and path in self._units:
            nearest = self._nearest(self._units[path])
            if nearest is not None:
                return nearest
        for card in self._set.experts:
            if _covers(card, path):
                return card.name
        return self._fallback

    def _nearest(self, unit: np.ndarray) -> str | None:
        scored = [
            (float(np.asarray(card.centroid) @ unit), card.name)
            for card in self._set.experts
            if card.centroid is not None and len(card.centroid) == len(unit)
        ]
        return max(scored)[1] if scored else None


def changed_files(root: Path, since: str, until: str | None = None) -> set[str]:
    """Paths (relative to `root`) that differ between commit `since` and `until` (a
    commit; None: the working tree, untracked files included). Deleted files are left
    out: there is nothing new in them to learn."""
    repo = Repository(root)
    target = repo.resolve(until) if until else None
    return set(repo.changed_lines(repo.resolve(since).sha, target))


def touched_experts(changed: Iterable[str], assigner: ExpertAssigner) -> dict[str, list[str]]:
    """Expert name -> the changed files in its domain (experts untouched are absent)."""
    found: dict[str, list[str]] = {}
    for path in sorted(set(changed)):
        found.setdefault(assigner.expert_for(path), []).append(path)
    return found


def _covers(card: ExpertCard, path: str) -> bool:
    return any(fnmatch.fnmatchcase(path, glob) for glob in card.paths)
