"""The replay buffer: a seeded sample of what was trained on, mixed into later tasks."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

from mochi.trainer.samples import Sample, read_samples, write_samples

REPLAY_FILE = "replay.jsonl"


def choose_replay(
    train: Sequence[Sample], previous: Sequence[Sample], size: int, seed: int
) -> list[Sample]:
    """Up to `size` samples drawn (seeded) from this task's data and the previous buffer,
    so that earlier tasks stay represented as tasks follow one another."""
    pool = [*previous, *train]
    if len(pool) <= size:
        return pool
    return random.Random(seed).sample(pool, size)


def save_replay(path: Path, samples: Sequence[Sample]) -> Path:
    write_samples(path, samples)
    return path


def load_replay(path: Path | None) -> list[Sample]:
    return list(read_samples(path)) if path is not None and path.is_file() else []
