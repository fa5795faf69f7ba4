"""The dataset card: counts, token statistics, provenance and the samples' hash."""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from mochi.trainer.datasets.repository import CommitInfo
from mochi.trainer.datasets.spec import DatasetCard, DatasetSpec, TokenStats
from mochi.trainer.samples import Sample


def token_stats(counts: Sequence[int]) -> TokenStats:
    if not counts:
        return TokenStats()
    ordered = sorted(counts)

    def rank(q: float) -> int:  # nearest rank
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)]

    return TokenStats(
        min=ordered[0],
        mean=round(sum(ordered) / len(ordered), 2),
        p50=rank(0.5),
        p95=rank(0.95),
        max=ordered[-1],
    )


def samples_hash(train: Sequence[Sample], evaluation: Sequence[Sample]) -> str:
    """sha256 of both splits' samples as canonical JSON lines, split by split."""
    digest = hashlib.sha256()
    for name, samples in (("train", train), ("eval", evaluation)):
        digest.update(f"#{name}\n".encode())
        for sample in samples:
            line = json.dumps(sample.to_json(), sort_keys=True, ensure_ascii=False)
            digest.update(line.encode("utf-8") + b"\n")
    return digest.hexdigest()


def make_card(
    train: Sequence[Sample],
    evaluation: Sequence[Sample],
    *,
    spec: DatasetSpec,
    count_tokens: Callable[[str], int],
    commits: Sequence[CommitInfo],
    source: str,
    dropped: dict[str, int],
) -> DatasetCard:
    everything = [*train, *evaluation]
    ordered = sorted(commits, key=lambda c: (c.time, c.sha))
    return DatasetCard(
        counts={
            "train": dict(sorted(Counter(s.kind for s in train).items())),
            "eval": dict(sorted(Counter(s.kind for s in evaluation).items())),
        },
        prompt_tokens=token_stats([count_tokens(s.prompt) for s in everything]),
        completion_tokens=token_stats([count_tokens(s.completion) for s in everything]),
        first_commit=ordered[0].sha if ordered else "",
        last_commit=ordered[-1].sha if ordered else "",
        commit_count=len({c.sha for c in commits}),
        source=source,
        sha256=samples_hash(train, evaluation),
        spec=spec.to_json(),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        dropped=dict(sorted(dropped.items())),
    )
