"""File names that are not valid UTF-8 (b"caf\\xe9.py"): indexed, found and shown.

Python hands such a name over surrogate-escaped ("caf\\udce9.py"). The key keeps that
form (it opens the right file), the manifest stores its bytes, point ids hash its bytes,
and payloads, reports and commit texts show U+FFFD for the undecodable byte.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest
from consistency import assert_consistent
from git_repo import GitRepo
from hashing_embedder import HashingEmbedder
from mochi_cli import mochi

from mochi.rag.config import RagConfig
from mochi.rag.index import WorkspaceIndex, open_workspace_index
from mochi.rag.index.point_ids import point_ids
from mochi.rag.sources import GitHistorySource
from mochi.rag.types import Chunk, SkipCounts

TRACKED = os.fsdecode(b"caf\xe9.py")  # "caf\udce9.py"
UNTRACKED = os.fsdecode(b"unt\xe9.py")
NESTED = os.fsdecode(b"d\xe9/inner.py")
SHOWN = {"caf\ufffd.py", "unt\ufffd.py", "d\ufffd/inner.py"}
CAFE_PY = "def cafe_tracked(radius):\n    return radius * 2\n"
UNT_PY = "def cafe_untracked():\n    return 3\n"
INNER_PY = "def inner_helper():\n    return 4\n"


def write(root: Path, key: str, text: str) -> None:
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture(params=["git", "plain"])
def workspace(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    write(root, "plain.py", "def plain():\n    return 0\n")
    write(root, TRACKED, CAFE_PY)
    if request.param == "git":
        repo = GitRepo.create(root)
        repo.commit("a file whose name is not UTF-8")  # in history too
    write(root, UNTRACKED, UNT_PY)
    write(root, NESTED, INNER_PY)
    return root


def open_index(root: Path, data: Path) -> WorkspaceIndex:
    return open_workspace_index(root, RagConfig(data_dir=str(data)), embedder=HashingEmbedder())


def payloads(index: WorkspaceIndex) -> dict[str, dict[str, object]]:
    return index.store.get_payloads(list(index.store.iter_ids()))


def file_paths(index: WorkspaceIndex) -> set[str]:
    return {str(p["path"]) for p in payloads(index).values() if p["source"] != "commit"}


def ids_by_doc(index: WorkspaceIndex) -> dict[str, set[str]]:
    docs = index.manifest.docs("workspace")
    return {key: {c.id for c in index.manifest.chunks_of(key)} for key in docs}


def test_names_that_are_not_utf8_are_indexed_again_and_again(
    workspace: Path, tmp_path: Path
) -> None:
    with open_index(workspace, tmp_path / "data") as index:
        first = index.sync()
        assert first.skips.total() == 0
        assert_consistent(index, workspace)
        assert set(index.manifest.docs("workspace")) == {"plain.py", TRACKED, UNTRACKED, NESTED}
        assert file_paths(index) == {"plain.py", *SHOWN}
        dirs = {str(p["path"]): p["dirs"] for p in payloads(index).values()}
        assert dirs["d\ufffd/inner.py"] == ["d\ufffd"]
        found = index.search("cafe tracked radius", 3, mode="sparse")
        assert found[0].path == "caf\ufffd.py" and "def cafe_tracked" in found[0].text
        ids = ids_by_doc(index)

        again = index.sync()  # incremental: the manifest gives the same keys back
        assert (again.docs_changed, again.chunks_embedded, again.docs_removed) == (0, 0, 0)
        assert ids_by_doc(index) == ids

        (workspace / TRACKED).write_text(CAFE_PY.replace("* 2", "* 3"))
        (workspace / UNTRACKED).unlink()
        edited = index.sync()
        assert (edited.docs_changed, edited.docs_removed) == (1, 1)
        assert file_paths(index) == {"plain.py", "caf\ufffd.py", "d\ufffd/inner.py"}
        assert_consistent(index, workspace)
        (workspace / TRACKED).write_text(CAFE_PY)
        index.sync()
        assert ids_by_doc(index)[TRACKED] == ids[TRACKED]

    with open_index(workspace, tmp_path / "other-data") as fresh:  # a new index, same ids
        fresh.sync()
        assert ids_by_doc(fresh) == {k: v for k, v in ids.items() if k != UNTRACKED}


def test_history_with_such_a_name_is_indexed(git_repo: GitRepo, tmp_path: Path) -> None:
    write(git_repo.root, TRACKED, CAFE_PY)
    sha = git_repo.commit("Add the cafe module")
    write(git_repo.root, TRACKED, CAFE_PY + "\n\ndef more():\n    return 5\n")
    git_repo.commit("More cafe")
    skips = SkipCounts()
    doc = GitHistorySource(git_repo.root).load(f"git:{sha}", skips)
    assert doc is not None and skips.total() == 0
    assert "A caf\ufffd.py" in doc.text and "+def cafe_tracked(radius):" in doc.text
    with open_index(git_repo.root, tmp_path / "data") as index:
        for _ in range(2):
            report = index.sync()
            assert report.skips.total() == 0
        texts = [str(p["text"]) for p in payloads(index).values() if p["source"] == "commit"]
        assert len(texts) == 2 and all("caf\ufffd.py" in text for text in texts)


def test_point_ids_hash_the_bytes_of_the_name() -> None:
    chunk = Chunk(TRACKED, "x = 1\n", "module", "python", 1, 1)
    ids = point_ids(TRACKED, [chunk, chunk])
    assert ids == point_ids(TRACKED, [chunk, chunk]) and len(set(ids)) == 2
    assert ids != point_ids("caf\ufffd.py", [chunk, chunk])  # shown alike, stored apart
    namespace = uuid.UUID("6d6f6368-692d-7261-672d-706f696e7473")
    valid = point_ids("café.py", [chunk])  # valid names keep the ids they always had
    assert valid == [str(uuid.uuid5(namespace, f"café.py\0{chunk.content_hash}\0{0}"))]


@pytest.mark.slow
def test_mochi_index_and_search_with_such_names(git_repo: GitRepo, tmp_path: Path) -> None:
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "xdg"), "HF_HUB_OFFLINE": "1"}
    root = git_repo.root
    write(root, TRACKED, CAFE_PY)
    git_repo.commit("Add the cafe module")
    write(root, UNTRACKED, UNT_PY)

    first = mochi("index", str(root), "--json", env=env)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["report"]["chunks_embedded"] >= 3
    again = mochi("index", str(root), env=env)
    assert again.returncode == 0, again.stderr
    assert "0 chunks embedded" in again.stdout

    found = mochi("search", "cafe tracked radius", "--path", str(root), "-k", "5", env=env)
    assert found.returncode == 0, found.stderr
    assert found.stdout.splitlines()[0].startswith(" 1. caf\ufffd.py:1 cafe_tracked")
    assert " unt\ufffd.py:1 cafe_untracked" in found.stdout


def test_a_workspace_folder_whose_name_is_not_utf8(tmp_path: Path) -> None:
    root = tmp_path / os.fsdecode(b"w\xe9s")
    write(root, TRACKED, CAFE_PY)
    with open_index(root, tmp_path / "data") as index:
        assert index.sync().docs_changed == 1
        assert index.status().root == str(tmp_path / "w\ufffds")  # printable, JSON-safe
        assert index.status().root.encode("utf-8")
