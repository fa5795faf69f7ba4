"""Training tests: one torch thread (the synthetic tasks are in tests/support/training_tasks.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """The tiny model's matrices are too small to gain from threads; on a shared 2-core
    machine a second spinning thread only slows them down."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
