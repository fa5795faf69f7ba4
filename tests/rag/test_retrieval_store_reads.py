"""What a hybrid query costs the store: each candidate's payload is read once (the hub
penalty's read serves the hits too), and the per-candidate Python work (near-duplicate
test, test-path test) gives the answers the plain definitions give."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from geometry_sample import GEOMETRY
from git_repo import GitRepo
from hashing_embedder import HashingEmbedder
from hypothesis import given
from hypothesis import strategies as st

from mochi.rag.config import RagConfig
from mochi.rag.embedding.sparse import Bm25SparseEncoder
from mochi.rag.index import WorkspaceIndex, open_workspace_index
from mochi.rag.index.query_parts import build_retriever
from mochi.rag.protocols import VectorStore
from mochi.rag.retrieval.hybrid import _shingles, _similar
from mochi.rag.retrieval.ranking_priors import is_test_path, path_parts


class CountingStore:
    """A store that records the ids whose payloads are read."""

    def __init__(self, store: VectorStore) -> None:
        self._store = store
        self.payload_reads: list[str] = []

    def get_payloads(
        self, ids: Sequence[str], fields: Sequence[str] | None = None
    ) -> dict[str, dict[str, object]]:
        self.payload_reads.extend(ids)
        return self._store.get_payloads(ids, fields)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


@pytest.fixture
def index(git_repo: GitRepo, tmp_path: Path) -> Iterator[WorkspaceIndex]:
    git_repo.write("pkg/geometry.py", GEOMETRY)
    for i in range(12):
        git_repo.write(f"pkg/shapes_{i}.py", f"def area_{i}(side):\n    return side * {i}\n")
    git_repo.write("tests/test_geometry.py", "def test_area():\n    assert area(2) == 4\n")
    git_repo.commit("Add shapes")
    config = RagConfig(data_dir=str(tmp_path / "data"))
    with open_workspace_index(git_repo.root, config, embedder=HashingEmbedder()) as opened:
        opened.sync()
        yield opened


@pytest.mark.parametrize("query", ["the area of a circle", "area_3", "parse config lines"])
def test_a_hybrid_search_reads_each_payload_once(index: WorkspaceIndex, query: str) -> None:
    config = RagConfig()
    assert config.retrieval.hub_penalty > 0  # the dense side reads densities first
    store = CountingStore(index.store)
    retriever = build_retriever(config, store, index.embedder, Bm25SparseEncoder())
    hits = retriever.search(query, 5)
    assert hits == index.search(query, 5)
    assert store.payload_reads, "the candidates' payloads were read"
    assert len(store.payload_reads) == len(set(store.payload_reads))


def jaccard(a: set[str], b: set[str]) -> float:
    return 1.0 if not a and not b else len(a & b) / len(a | b)


@given(
    st.sets(st.integers(0, 30).map(str), max_size=25),
    st.sets(st.integers(0, 30).map(str), max_size=25),
    st.sampled_from([0.0, 0.5, 0.9, 0.95, 1.0]),
)
def test_the_near_duplicate_test_is_the_jaccard_index(
    a: set[str], b: set[str], threshold: float
) -> None:
    assert _similar(a, b, threshold) == (jaccard(a, b) >= threshold)


@given(st.text(alphabet=st.characters(max_codepoint=0x7F)) | st.text(max_size=60))
def test_shingles_are_the_lower_cased_word_tokens(text: str) -> None:
    assert _shingles(text) == set(re.findall(r"\w+", text.lower()))


PATHS = [
    "",
    "/",
    "a.py",
    "tests/test_x.py",
    "./tests/x.py",
    "pkg//tests/x.py",
    "/abs/tests/util.py",
    "src/app/conftest.py",
    "web/src/button.spec.ts",
    "pkg/tests/",
    "git:abc123",
    "CHANGELOG.md",
]


@pytest.mark.parametrize("path", PATHS)
def test_path_parts_are_pure_posix_paths_parts(path: str) -> None:
    assert path_parts(path) == [p for p in PurePosixPath(path).parts if p != "/"]


def test_test_paths_are_still_recognised() -> None:
    assert [p for p in PATHS if is_test_path(p)] == [
        "tests/test_x.py",
        "./tests/x.py",
        "pkg//tests/x.py",
        "/abs/tests/util.py",
        "src/app/conftest.py",
        "web/src/button.spec.ts",
    ]
