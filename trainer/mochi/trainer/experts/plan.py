"""What one `train-experts` run trains: every domain of a fresh partition, or — continuing
a published set — only the experts whose domains the new commits touched, on the new
samples of their domains; the others keep their versions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from mochi.rag.languages import classify
from mochi.rag.routing.expert_set import ExpertCard, ExpertSet
from mochi.trainer.experts.domains import Embeddings, Partition, domain_globs, unit_embeddings
from mochi.trainer.experts.touched import ExpertAssigner, touched_experts
from mochi.trainer.samples import Sample

PENDING = "pending"  # the adapter of a card whose expert is not trained yet


@dataclass(frozen=True)
class DomainPlan:
    card: ExpertCard  # as it will be published (adapter and version set after training)
    train: tuple[Sample, ...]  # empty when the expert keeps its version
    eval: tuple[Sample, ...]
    previous: ExpertCard | None = None  # the card of the version it continues

    @property
    def retrain(self) -> bool:
        return bool(self.train)


def fresh_plan(
    found: Partition, held_out: Sequence[Sample], embeddings: Embeddings | None
) -> list[DomainPlan]:
    """One expert per domain; held-out samples go to the domain their file falls in."""
    cards = [
        ExpertCard(
            name=domain.name,
            adapter=PENDING,
            version="",
            languages=domain.languages,
            paths=domain.paths,
            samples=len(domain.samples),
            centroid=domain.centroid,
        )
        for domain in found.domains
    ]
    provisional = ExpertSet("", found.rule, "", tuple(cards))
    evals = _by_expert(held_out, ExpertAssigner(provisional, embeddings))
    return [
        DomainPlan(card, domain.samples, tuple(evals.get(card.name, ())))
        for card, domain in zip(cards, found.domains, strict=True)
    ]


def continued_plan(
    current: ExpertSet,
    changed: Iterable[str],
    train: Sequence[Sample],
    held_out: Sequence[Sample],
    embeddings: Embeddings | None,
) -> list[DomainPlan]:
    """Every card of `current`; those touched by `changed` files and given new samples
    are retrained on them (their cards grow by the new files), the rest are kept."""
    assigner = ExpertAssigner(current, embeddings)
    touched = touched_experts(changed, assigner)
    news = _by_expert([s for s in train if s.path], assigner)
    evals = _by_expert(held_out, assigner)
    units = unit_embeddings(embeddings) if embeddings else {}
    plans = []
    for card in current.experts:
        new = tuple(news.get(card.name, ())) if card.name in touched else ()
        if not new:
            plans.append(DomainPlan(card, (), tuple(evals.get(card.name, ()))))
            continue
        grown = _grown(card, new, units, current.rule)
        plans.append(DomainPlan(grown, new, tuple(evals.get(card.name, ())), previous=card))
    return plans


def _by_expert(samples: Iterable[Sample], assigner: ExpertAssigner) -> dict[str, list[Sample]]:
    found: dict[str, list[Sample]] = {}
    for sample in samples:
        if sample.path:
            found.setdefault(assigner.expert_for(sample.path), []).append(sample)
    return found


def _grown(
    card: ExpertCard, new: Sequence[Sample], units: Mapping[str, np.ndarray], rule: str
) -> ExpertCard:
    """The card with the new samples counted, their languages and folders added, and the
    centroid moved by their embeddings (weighted by samples)."""
    files = sorted({s.path for s in new})
    languages = set(card.languages) | {classify(path)[0] for path in files}
    paths = set(card.paths) | set(domain_globs(files, rule))
    centroid = card.centroid
    vectors = [units[s.path] for s in new if s.path in units]
    if centroid is not None and vectors and len(vectors[0]) == len(centroid):
        total = np.asarray(centroid) * card.samples + np.sum(vectors, axis=0)
        norm = float(np.linalg.norm(total))
        centroid = tuple(float(x) for x in (total / norm if norm > 0 else total))
    return replace(
        card,
        languages=tuple(sorted(languages)),
        paths=tuple(sorted(paths)),
        samples=card.samples + len(new),
        centroid=centroid,
    )
