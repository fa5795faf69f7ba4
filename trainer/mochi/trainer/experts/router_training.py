"""Train the expert set's gate: each held-out sample is labelled with the expert whose
loss on it is lowest, and described by the same route features the server computes for
a request (mochi.rag.routing.features); a linear gate learns the one from the other."""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from pathlib import Path

from mochi.rag.languages import classify
from mochi.rag.routing.features import EmbedTexts, RouteInput, route_features_many
from mochi.rag.routing.gate import LinearGate
from mochi.trainer.experts.publish import PublishedSet
from mochi.trainer.samples import Sample

FILE_KIND = "file"  # a plain-text window: the whole window is the completion


@dataclass(frozen=True)
class RouterOutcome:
    gate: LinearGate | None  # None: the samples did not tell two experts apart
    labels: dict[str, int]  # expert -> held-out samples it was best on
    reason: str


def balanced_samples(groups: Sequence[Sequence[Sample]], limit: int) -> list[Sample]:
    """At most `limit` samples taken in turn from each group (one domain's held-out
    samples), so that the largest domain cannot fill the gate's training set alone."""
    taken: list[Sample] = []
    depth = 0
    while len(taken) < limit and any(depth < len(g) for g in groups):
        taken.extend(g[depth] for g in groups if depth < len(g))
        depth += 1
    return taken[:limit]


def best_expert_labels(losses: Mapping[str, Sequence[float]]) -> list[str]:
    """For each sample, the expert of lowest loss (ties: the first name in order)."""
    names = sorted(losses)
    if not names:
        return []
    count = len(losses[names[0]])
    if any(len(losses[name]) != count for name in names):
        raise ValueError("every expert must be scored on the same samples")
    return [min(names, key=lambda name: (losses[name][i], name)) for i in range(count)]


def route_input(sample: Sample) -> RouteInput:
    """The request a held-out sample stands for: a completion in its file, with the
    prompt (and, for a plain-text window, the first half of the window) before the cursor."""
    before = sample.prompt
    if sample.kind == FILE_KIND:
        before += sample.completion[: len(sample.completion) // 2]
    return RouteInput("completion", classify(sample.path)[0], sample.path, before)


def train_router(
    samples: Sequence[Sample],
    losses: Mapping[str, Sequence[float]],
    embed: EmbedTexts,
    *,
    seed: int = 0,
) -> RouterOutcome:
    labels = best_expert_labels(losses)
    counts = {name: labels.count(name) for name in sorted(set(labels))}
    if len(counts) < 2:
        return RouterOutcome(None, counts, "every held-out sample is best served by one expert")
    features = route_features_many([route_input(s) for s in samples], embed)
    gate = LinearGate.fit([f.vector for f in features], labels, seed=seed)
    return RouterOutcome(gate, counts, f"trained on {len(labels)} held-out samples")


def previous_router(current: PublishedSet | None, experts: Set[str]) -> Path | None:
    """The gate of the set in service, when it routes between the same experts (kept
    when this run's held-out samples cannot train a new one)."""
    if current is None:
        return None
    path = current.expert_set.router_path(current.folder)
    same = {card.name for card in current.expert_set.experts} == set(experts)
    return path if path is not None and path.is_file() and same else None
