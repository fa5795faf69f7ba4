"""Hybrid retrieval with the real embedding model on a small real workspace."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from git_repo import GitRepo

from mochi.rag.config import RagConfig
from mochi.rag.index import WorkspaceIndex, open_workspace_index
from mochi.rag.protocols import Embedder
from mochi.rag.types import SearchFilters

FILES = {
    "app/http/client.py": '''import json
import urllib.request


def fetch_json(url, timeout=10):
    """Download a URL and decode its JSON body."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())
''',
    "app/storage/cache.py": '''class LruCache:
    """A least-recently-used cache with a fixed capacity."""

    def __init__(self, capacity):
        self.capacity = capacity
        self.items = {}

    def evict_oldest(self):
        oldest = next(iter(self.items))
        del self.items[oldest]
''',
    "app/storage/copy_of_cache.py": '''class LruCache:
    """A least-recently-used cache with a fixed capacity."""

    def __init__(self, capacity):
        self.capacity = capacity
        self.items = {}

    def evict_oldest(self):
        oldest = next(iter(self.items))
        del self.items[oldest]
''',
    "web/src/format.ts": """export function formatCurrency(amount: number, currency: string) {
  return new Intl.NumberFormat("en-US", { style: "currency", currency }).format(amount);
}
""",
    "docs/deploy.md": "# Deploying\n\n## Docker\n\nBuild the image with `docker build -t app .`\n",
}


@pytest.fixture
def index(git_repo: GitRepo, tmp_path: Path, minilm: Embedder) -> Iterator[WorkspaceIndex]:
    for path, text in FILES.items():
        git_repo.write(path, text)
    git_repo.commit("Add the app")
    config = RagConfig(data_dir=str(tmp_path / "data"))
    with open_workspace_index(git_repo.root, config, embedder=minilm) as idx:
        idx.sync()
        yield idx


@pytest.mark.parametrize(
    ("query", "path"),
    [
        ("download json from a url", "app/http/client.py"),
        ("evict the least recently used entry", "app/storage/cache.py"),
        ("format money amount as currency", "web/src/format.ts"),
        ("how do I build the docker image", "docs/deploy.md"),
        ("formatCurrency", "web/src/format.ts"),  # an exact identifier
    ],
)
def test_natural_language_and_identifier_queries(
    index: WorkspaceIndex, query: str, path: str
) -> None:
    hits = index.search(query, k=3)
    assert hits[0].path == path, [h.path for h in hits]


def test_filters(index: WorkspaceIndex) -> None:
    only_ts = index.search("cache", k=5, filters=SearchFilters(languages=("typescript",)))
    assert only_ts and {h.language for h in only_ts} == {"typescript"}
    docs = index.search("docker", k=5, filters=SearchFilters(sources=("doc",)))
    assert docs and {h.source for h in docs} == {"doc"}
    globbed = index.search("cache", k=5, filters=SearchFilters(path_glob="app/http/**"))
    assert globbed and {h.path for h in globbed} == {"app/http/client.py"}
    methods = index.search("cache", k=5, filters=SearchFilters(kinds=("class",)))
    assert methods and {h.kind for h in methods} == {"class"}
    commits = index.search("add the app", k=5, filters=SearchFilters(sources=("commit",)))
    assert commits and commits[0].path.startswith("git:")


def test_near_duplicates_are_collapsed(index: WorkspaceIndex) -> None:
    hits = index.search("least recently used cache", k=5)
    cache_hits = [h for h in hits if "LruCache" in h.text and h.source == "code"]
    assert len(cache_hits) == 1  # the copy is a near-duplicate of the better hit


def test_modes_and_empty_queries(index: WorkspaceIndex) -> None:
    assert index.search("   ", k=5) == []
    assert index.search("fetch_json", k=1, mode="sparse")[0].path == "app/http/client.py"
    assert index.search("fetch json from the web", k=1, mode="dense")[0].path == (
        "app/http/client.py"
    )
