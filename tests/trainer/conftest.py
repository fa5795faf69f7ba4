"""Fixtures for the trainer tests: the tiny random Llama (CPU training in seconds)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tiny_model import build_tiny_llama


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer random Llama (hidden 64) with a 400-token BPE tokenizer with FIM tokens."""
    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))
