"""Learning rate: linear warm-up, then cosine decay to a tenth of the peak (nanoGPT)."""

from __future__ import annotations

import math

MIN_LR_FACTOR = 0.1


def lr_factor(step: int, warmup_steps: int, max_steps: int) -> float:
    """Multiplier of the peak learning rate for optimizer step `step` (0-based)."""
    if step < warmup_steps:
        return (step + 1) / (warmup_steps + 1)
    decay_steps = max(1, max_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / decay_steps)
    cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
    return MIN_LR_FACTOR + (1.0 - MIN_LR_FACTOR) * cosine
