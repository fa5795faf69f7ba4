"""Fixtures for the CLI tests: the tiny random Llama, where a command needs a model that is
not under test."""

from __future__ import annotations

from pathlib import Path

import pytest
from tiny_model import build_tiny_llama


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))
