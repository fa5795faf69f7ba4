"""The devices jobs run on: "cpu", or "cuda:0", "cuda:1", ... detected lazily."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager


def detect_devices() -> list[str]:
    """Every visible CUDA device, else ["cpu"]. Imports torch only when it is installed."""
    if importlib.util.find_spec("torch") is None:
        return ["cpu"]
    import torch

    if torch.cuda.is_available() and torch.cuda.device_count() > 0:
        return [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    return ["cpu"]


def release_device(device: str) -> None:
    """Give a finished job's cached GPU memory back (no-op on CPU)."""
    if not device.startswith("cuda"):
        return
    import torch

    if torch.cuda.is_available():
        with torch.cuda.device(device):
            torch.cuda.empty_cache()


@contextmanager
def use_device(device: str) -> Iterator[None]:
    """Make `device` the current CUDA device of this thread while a job runs (the training
    code places models on "cuda", i.e. the current device). No-op on CPU."""
    if not device.startswith("cuda"):
        yield
        return
    import torch

    with torch.cuda.device(device):
        yield
