"""Random train/eval split by group: all samples of one unit (or commit) on one side."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

from mochi.trainer.samples import Sample


def eval_groups(groups: Sequence[str], fraction: float, seed: int) -> set[str]:
    """A seeded choice of round(fraction * n) groups (at least one when fraction > 0 and
    there are two or more; never all of them)."""
    distinct = sorted(set(groups))
    if fraction <= 0 or len(distinct) < 2:
        return set()
    wanted = min(len(distinct) - 1, max(1, math.floor(fraction * len(distinct) + 0.5)))
    order = sorted(distinct, key=lambda g: hashlib.sha256(f"{seed}\0{g}".encode()).hexdigest())
    return set(order[:wanted])


def random_split(
    tagged: Sequence[tuple[Sample, str]], fraction: float, seed: int
) -> tuple[list[Sample], list[Sample]]:
    """(train, eval) with whole groups held out."""
    held = eval_groups([group for _, group in tagged], fraction, seed)
    train = [s for s, group in tagged if group not in held]
    evaluation = [s for s, group in tagged if group in held]
    return train, evaluation
