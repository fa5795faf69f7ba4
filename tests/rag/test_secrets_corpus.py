"""No secret of a realistic corpus reaches the index: the real indexer (`mochi index`'s
path, `open_workspace_index`) over a real git repository, files and history."""

from __future__ import annotations

from pathlib import Path

import pytest
from git_repo import GitRepo
from hashing_embedder import HashingEmbedder
from secret_corpus import Corpus, plant_corpus

from mochi.rag.config import RagConfig
from mochi.rag.index import open_workspace_index
from mochi.rag.secrets import REDACTED

pytestmark = pytest.mark.slow


@pytest.fixture
def corpus(git_repo: GitRepo) -> Corpus:
    return plant_corpus(git_repo)


def test_the_corpus_is_large_varied_and_really_planted(git_repo: GitRepo, corpus: Corpus) -> None:
    assert len(corpus.planted) >= 40 and len(corpus.kinds) >= 25
    assert len({p.value for p in corpus.planted}) == len(corpus.planted)
    history = git_repo.git("log", "-p", "--all", "--format=%B")
    on_disk = "\n".join(
        p.read_text() for p in git_repo.root.rglob("*") if p.is_file() and ".git" not in p.parts
    )
    for planted in corpus.planted:  # each secret is in the tree or in history, whole
        assert all(f in history or f in on_disk for f in planted.fragments), planted.kind
    assert any("history" in p.where or "message" in p.where for p in corpus.planted)
    assert sum("PRIVATE KEY" in p.value for p in corpus.planted) >= 8


def test_no_planted_secret_reaches_the_store(
    git_repo: GitRepo, corpus: Corpus, tmp_path: Path, hashing_embedder: HashingEmbedder
) -> None:
    config = RagConfig(data_dir=str(tmp_path / "data"))
    config.index.chunk_max_chars = 600  # keys span several chunks
    with open_workspace_index(git_repo.root, config, embedder=hashing_embedder) as index:
        report = index.sync()
        payloads = index.store.get_payloads(list(index.store.iter_ids()))
        location = index.location
    stored = "\n".join(str(value) for p in payloads.values() for value in p.values())
    assert not [p.kind for p in corpus.leaks(stored)]
    on_disk = b"".join(p.read_bytes() for p in location.rglob("*") if p.is_file())
    assert not [p.kind for p in corpus.planted if any(f.encode() in on_disk for f in p.fragments)]
    # The rest of each file and every commit is still indexed, with the secrets marked.
    for line in corpus.kept:
        assert line in stored, line
    sources = {p["source"] for p in payloads.values()}
    assert "commit" in sources and "code" in sources
    assert stored.count(REDACTED) >= len(corpus.planted)
    assert report.secrets_redacted >= len(corpus.planted)
    assert "app/settings.py" in {p["path"] for p in payloads.values()}
