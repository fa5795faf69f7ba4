"""Shared fixtures. Real git repos, real stores; the hashing embedder stands in for the
embedding model only in tests about bookkeeping (not about retrieval quality)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "support"))

from git_repo import GitRepo
from hashing_embedder import HashingEmbedder


@pytest.fixture
def git_repo(tmp_path: Path) -> GitRepo:
    return GitRepo.create(tmp_path / "repo")


@pytest.fixture
def hashing_embedder() -> HashingEmbedder:
    return HashingEmbedder()


@pytest.fixture(scope="session")
def minilm() -> object:
    """The real default embedding model (loaded once per test session)."""
    from mochi.rag.embedding import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An isolated XDG data dir so tests never touch the user's indexes."""
    path = tmp_path / "xdg-data"
    monkeypatch.setenv("XDG_DATA_HOME", str(path))
    return path
