"""Incremental indexing through the real pipeline (Qdrant Edge, tree-sitter, SQLite manifest).

The embedding model is the hashing stand-in: these tests are about what gets
embedded and stored, not about embedding quality.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from consistency import assert_consistent
from git_repo import GitRepo
from hashing_embedder import HashingEmbedder

from mochi.rag.chunking import DefaultChunker
from mochi.rag.config import RagConfig
from mochi.rag.index import IndexLockedError, open_workspace_index
from mochi.rag.secrets import REDACTED
from mochi.rag.types import DocKind, Document

AWS_KEY = "AKIA" + "ABCDEFGHIJKLMNOP"  # split so this file holds no key-like string

MATH_PY = '''"""Small math helpers."""

import math


def area(radius):
    return math.pi * radius ** 2


def perimeter(radius):
    return 2 * math.pi * radius
'''

SHAPES_PY = """class Square:
    def __init__(self, side):
        self.side = side

    def area(self):
        return self.side * self.side
"""

SETTINGS_PY = f'''def connect():
    key = "{AWS_KEY}"
    return key


def timeout():
    return 30
'''


@pytest.fixture
def repo(git_repo: GitRepo) -> GitRepo:
    git_repo.write("pkg/math_utils.py", MATH_PY)
    git_repo.write("pkg/shapes.py", SHAPES_PY)
    git_repo.write("README.md", "# Demo\n\nComputes areas.\n\n## Usage\n\nCall `area(2)`.\n")
    git_repo.write(".gitignore", "build/\n")
    git_repo.commit("Add math and shapes")
    # Untracked but not ignored: indexed as workspace files (the secrets must not be).
    git_repo.write("pkg/settings.py", SETTINGS_PY)
    git_repo.write("build/generated.py", "def generated():\n    return 1\n")
    git_repo.write(".env", f"AWS_ACCESS_KEY_ID={AWS_KEY}\n")
    git_repo.write("id_rsa", "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n")
    return git_repo


def open_index(root: Path, data: Path, embedder: HashingEmbedder, **index: object):  # type: ignore[no-untyped-def]
    config = RagConfig(data_dir=str(data))
    for key, value in index.items():
        setattr(config.index, key, value)
    return open_workspace_index(root, config, embedder=embedder)


def chunk_hashes(path: Path, key: str) -> list[str]:
    doc = Document(key, path.read_text(), DocKind.CODE, "python", "x")
    return [c.content_hash for c in DefaultChunker().chunk(doc)]


INDEXED = {"pkg/math_utils.py", "pkg/shapes.py", "pkg/settings.py", "README.md", ".gitignore"}


def test_first_sync_indexes_files_and_history_but_no_secrets(
    repo: GitRepo, tmp_path: Path, hashing_embedder: HashingEmbedder
) -> None:
    with open_index(repo.root, tmp_path / "data", hashing_embedder) as index:
        report = index.sync()
        assert report.chunks_embedded > 0
        assert report.chunks_embedded == hashing_embedder.embedded
        assert report.skips.secret_file == 2  # .env and id_rsa
        assert report.secrets_redacted == 1  # connect() holds an access key: redacted
        assert report.redacted_examples == ["pkg/settings.py"]
        assert_consistent(index, repo.root, INDEXED)
        payloads = index.store.get_payloads(list(index.store.iter_ids()))
        texts = "\n".join(str(p["text"]) + str(p["context"]) for p in payloads.values())
        assert AWS_KEY not in texts
        assert "PRIVATE KEY" not in texts
        assert "def timeout" in texts  # the rest of settings.py is indexed
        assert f'key = "{REDACTED}"' in texts  # and connect() too, without its key
        assert "generated" not in texts  # .gitignore'd
        sources = {p["source"] for p in payloads.values()}
        assert sources == {"code", "doc", "text", "commit"}


def test_unchanged_workspace_embeds_nothing(
    repo: GitRepo, tmp_path: Path, hashing_embedder: HashingEmbedder
) -> None:
    with open_index(repo.root, tmp_path / "data", hashing_embedder) as index:
        index.sync()
        before = hashing_embedder.embedded
        again = index.sync()
        assert again.chunks_embedded == 0 and again.docs_changed == 0
        (repo.root / "pkg/shapes.py").touch()  # new mtime, same bytes
        touched = index.sync()
        assert touched.chunks_embedded == 0 and touched.docs_changed == 0
        assert hashing_embedder.embedded == before


def test_reopen_embeds_nothing(repo: GitRepo, tmp_path: Path) -> None:
    with open_index(repo.root, tmp_path / "data", HashingEmbedder()) as index:
        index.sync()
    with open_index(repo.root, tmp_path / "data", HashingEmbedder()) as index:
        assert index.sync().chunks_embedded == 0
        assert_consistent(index, repo.root, INDEXED)


def test_editing_one_function_reembeds_exactly_the_changed_chunks(
    repo: GitRepo, tmp_path: Path, hashing_embedder: HashingEmbedder
) -> None:
    path = repo.root / "pkg/math_utils.py"
    with open_index(repo.root, tmp_path / "data", hashing_embedder) as index:
        index.sync()
        old = set(chunk_hashes(path, "pkg/math_utils.py"))
        path.write_text(MATH_PY.replace("2 * math.pi * radius", "math.tau * radius"))
        new = chunk_hashes(path, "pkg/math_utils.py")
        changed = [h for h in new if h not in old]
        assert len(changed) == 1  # only perimeter()
        before = hashing_embedder.embedded
        report = index.sync()
        assert report.docs_changed == 1
        assert report.chunks_embedded == 1
        assert hashing_embedder.embedded - before == 1
        assert report.chunks_deleted == 1
        assert_consistent(index, repo.root, INDEXED)
        hits = index.search("tau perimeter", k=3, mode="sparse")
        assert hits and "math.tau" in hits[0].text


def test_moved_chunks_keep_vectors_and_get_new_lines(
    repo: GitRepo, tmp_path: Path, hashing_embedder: HashingEmbedder
) -> None:
    path = repo.root / "pkg/shapes.py"
    with open_index(repo.root, tmp_path / "data", hashing_embedder) as index:
        index.sync()
        path.write_text("import os\nimport sys\n\n\n" + SHAPES_PY)
        report = index.sync()
        added = [h for h in chunk_hashes(path, "pkg/shapes.py")]
        assert report.chunks_embedded == len(added) - len(chunk_hashes_of(SHAPES_PY))
        assert report.chunks_moved >= 1
        hits = index.search("Square side area", k=5, filters=None, mode="sparse")
        square = [h for h in hits if h.path == "pkg/shapes.py" and "def area" in h.text]
        assert square and (square[0].start_line, square[0].end_line) == (5, 10)  # was 1..6
        assert_consistent(index, repo.root, INDEXED)


def chunk_hashes_of(text: str) -> list[str]:
    doc = Document("pkg/shapes.py", text, DocKind.CODE, "python", "x")
    return [c.content_hash for c in DefaultChunker().chunk(doc)]


def test_rename_reuses_vectors_and_delete_removes_points(
    repo: GitRepo, tmp_path: Path, hashing_embedder: HashingEmbedder
) -> None:
    with open_index(repo.root, tmp_path / "data", hashing_embedder) as index:
        index.sync()
        repo.git("mv", "pkg/shapes.py", "pkg/geometry.py")
        (repo.root / "README.md").unlink()
        report = index.sync()
        assert report.chunks_embedded == 0  # same text under a new path: vectors reused
        assert report.chunks_reused > 0
        assert report.docs_removed == 2
        expected = (INDEXED - {"pkg/shapes.py", "README.md"}) | {"pkg/geometry.py"}
        assert_consistent(index, repo.root, expected)
        paths = {
            str(p["path"]) for p in index.store.get_payloads(list(index.store.iter_ids())).values()
        }
        assert "pkg/shapes.py" not in paths and "README.md" not in paths
        assert "pkg/geometry.py" in paths


def test_new_commit_adds_one_history_document(
    repo: GitRepo, tmp_path: Path, hashing_embedder: HashingEmbedder
) -> None:
    with open_index(repo.root, tmp_path / "data", hashing_embedder) as index:
        index.sync()
        repo.write("pkg/shapes.py", SHAPES_PY + "\n\ndef unit():\n    return Square(1)\n")
        sha = repo.commit("Add the unit square", "pkg/shapes.py")
        index.sync()
        hits = index.search("unit square", k=10, mode="sparse")
        commits = [h for h in hits if h.source == "commit"]
        assert commits and commits[0].path == f"git:{sha}"
        assert len(index.manifest.docs("git")) == 2


def test_second_open_of_the_same_index_is_refused(
    repo: GitRepo, tmp_path: Path, hashing_embedder: HashingEmbedder
) -> None:
    with open_index(repo.root, tmp_path / "data", hashing_embedder) as index:
        index.sync()
        with pytest.raises(IndexLockedError, match="in use by another mochi process"):
            open_index(repo.root, tmp_path / "data", HashingEmbedder())
        assert_consistent(index, repo.root, INDEXED)
    with open_index(repo.root, tmp_path / "data", hashing_embedder) as index:  # released
        assert index.sync().chunks_embedded == 0


def test_changing_the_embedding_model_rebuilds(repo: GitRepo, tmp_path: Path) -> None:
    with open_index(repo.root, tmp_path / "data", HashingEmbedder(64)) as index:
        index.sync()
    with open_index(repo.root, tmp_path / "data", HashingEmbedder(32)) as index:
        report = index.sync()
        assert report.chunks_embedded > 0
        assert_consistent(index, repo.root, INDEXED)


def test_cancellation_stops_between_batches_and_keeps_what_is_done(
    repo: GitRepo, tmp_path: Path, hashing_embedder: HashingEmbedder
) -> None:
    for i in range(20):
        repo.write(f"gen/mod{i}.py", f"def f{i}(x):\n    return x + {i}\n")
    calls = {"n": 0}

    def cancel_after_five() -> bool:
        calls["n"] += 1
        return calls["n"] > 5

    with open_index(repo.root, tmp_path / "data", hashing_embedder, batch_chunks=2) as index:
        report = index.sync(should_cancel=cancel_after_five)
        assert report.cancelled
        assert 0 < index.manifest.doc_count() < len(INDEXED) + 20
        assert_consistent(index, repo.root)
        rest = index.sync()
        assert not rest.cancelled
        assert_consistent(index, repo.root, INDEXED | {f"gen/mod{i}.py" for i in range(20)})


def test_close_during_a_sync_stops_it_cleanly(git_repo: GitRepo, tmp_path: Path) -> None:
    import threading
    import time

    class SlowEmbedder(HashingEmbedder):
        def embed_passages(self, texts):  # type: ignore[no-untyped-def]
            time.sleep(0.05 * len(texts))
            return super().embed_passages(texts)

    for i in range(40):
        git_repo.write(f"gen/mod{i}.py", f"def f{i}(x):\n    return x + {i}\n")
    git_repo.commit("many")
    expected = {f"gen/mod{i}.py" for i in range(40)}
    index = open_index(git_repo.root, tmp_path / "data", SlowEmbedder(), batch_chunks=2)
    reports = []
    worker = threading.Thread(target=lambda: reports.append(index.sync()))
    worker.start()
    time.sleep(0.5)
    index.close()  # waits for the batch in flight, not for the whole sync
    worker.join(timeout=30)
    assert reports and reports[0].cancelled
    with pytest.raises(RuntimeError, match="closed"):
        index.sync()
    with open_index(git_repo.root, tmp_path / "data", HashingEmbedder()) as again:
        again.sync()
        assert_consistent(again, git_repo.root, expected)
