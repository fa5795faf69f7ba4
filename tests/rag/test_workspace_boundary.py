"""No file outside the workspace is read: a symbolic link is never followed.

A link that leads out of the root (to a file, a folder, /etc/passwd, through a chain of
links) is counted as skipped "outside_workspace"; a link that stays inside is counted as
"symlink" and its target is indexed once, under its own path. Both hold in a git work
tree (the links are tracked) and in a plain folder, for a full index and an edit (the
watcher: tests/rag/test_watcher.py).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from git_repo import GitRepo
from hashing_embedder import HashingEmbedder
from mochi_cli import mochi

from mochi.rag.config import RagConfig
from mochi.rag.index import WorkspaceIndex, open_workspace_index
from mochi.rag.paths import inside_workspace

MARKER = "OUTSIDE-MARKER-7f3a"
OUTSIDE_PY = f"def outside_secret():\n    return '{MARKER}'\n"
PASSWD = "root:x:0:"  # how /etc/passwd begins
REAL_PY = "def inside_helper():\n    return 1\n"
MOD_PY = "def packaged_helper():\n    return 2\n"

LINKS_OUT = {"out.py", "rel.py", "passwd.txt", "outdir", "step.py", "chain.py"}
LINKS_IN = {"alias.py", "pkg_alias"}
FILES = {"real.py", "pkg/mod.py"}


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    (folder / "lib").mkdir(parents=True)
    (folder / "secret.py").write_text(OUTSIDE_PY)
    (folder / "lib" / "leak.py").write_text(OUTSIDE_PY.replace("secret", "leak"))
    (folder / "hop.py").symlink_to(folder / "secret.py")  # the end of a chain, outside
    return folder


def add_files_and_links(root: Path, outside: Path) -> None:
    (root / "real.py").write_text(REAL_PY)
    (root / "pkg").mkdir()
    (root / "pkg" / "mod.py").write_text(MOD_PY)
    (root / "out.py").symlink_to(outside / "secret.py")  # absolute
    (root / "rel.py").symlink_to(Path("..") / "outside" / "secret.py")  # relative
    (root / "passwd.txt").symlink_to("/etc/passwd")
    (root / "outdir").symlink_to(outside / "lib", target_is_directory=True)
    (root / "step.py").symlink_to("chain.py")  # step -> chain -> outside/hop -> secret
    (root / "chain.py").symlink_to(outside / "hop.py")
    (root / "alias.py").symlink_to("real.py")  # stays inside
    (root / "pkg_alias").symlink_to("pkg", target_is_directory=True)


@pytest.fixture(params=["git", "plain"])
def workspace(request: pytest.FixtureRequest, tmp_path: Path, outside: Path) -> Path:
    root = tmp_path / "ws"
    if request.param == "git":
        repo = GitRepo.create(root)
        add_files_and_links(root, outside)
        repo.commit("files and links")  # the links are tracked as links
        assert "passwd.txt" in repo.git("ls-files")
    else:
        root.mkdir()
        add_files_and_links(root, outside)
    return root


def open_index(root: Path, data: Path) -> WorkspaceIndex:
    return open_workspace_index(root, RagConfig(data_dir=str(data)), embedder=HashingEmbedder())


def stored_texts(index: WorkspaceIndex) -> str:
    payloads = index.store.get_payloads(list(index.store.iter_ids()))
    return "\n".join(f"{p['path']}\n{p['context']}\n{p['text']}" for p in payloads.values())


def stored_paths(index: WorkspaceIndex) -> set[str]:
    payloads = index.store.get_payloads(list(index.store.iter_ids()), ["path"])
    return {str(p["path"]) for p in payloads.values() if not str(p["path"]).startswith("git:")}


def test_links_out_of_the_workspace_are_skipped_and_never_read(
    workspace: Path, tmp_path: Path
) -> None:
    with open_index(workspace, tmp_path / "data") as index:
        for _ in range(2):  # the second sync reports the same skips, indexes nothing new
            report = index.sync()
            assert report.skips.outside_workspace == len(LINKS_OUT)
            assert set(report.skips.examples["outside_workspace"]) <= LINKS_OUT
            assert report.skips.symlink == len(LINKS_IN)
            assert set(report.skips.examples["symlink"]) == LINKS_IN
            texts = stored_texts(index)
            assert MARKER not in texts and "outside_secret" not in texts
            assert PASSWD not in texts
            assert stored_paths(index) == FILES
            assert set(index.manifest.docs("workspace")) == FILES
        assert "def inside_helper" in texts  # the inside link's target, under its own path


def test_a_file_replaced_by_a_link_out_of_the_workspace_leaves_the_index(
    workspace: Path, tmp_path: Path, outside: Path
) -> None:
    with open_index(workspace, tmp_path / "data") as index:
        index.sync()
        (workspace / "pkg" / "mod.py").unlink()
        (workspace / "pkg" / "mod.py").symlink_to(outside / "secret.py")
        report = index.sync()
        assert report.docs_removed == 1
        assert report.skips.outside_workspace == len(LINKS_OUT) + 1
        assert "pkg/mod.py" not in index.manifest.docs("workspace")
        assert MARKER not in stored_texts(index)
        assert stored_paths(index) == {"real.py"}


def test_inside_workspace_follows_every_link(tmp_path: Path, outside: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    add_files_and_links(root, outside)
    assert inside_workspace(root, root / "real.py")
    assert inside_workspace(root, root / "alias.py")
    assert inside_workspace(root, root / "pkg_alias" / "mod.py")
    assert inside_workspace(root, root / "not-there-yet.py")
    for name in LINKS_OUT:
        assert not inside_workspace(root, root / name), name
    assert not inside_workspace(root, root / "outdir" / "leak.py")
    assert not inside_workspace(root, root / ".." / "outside" / "secret.py")
    assert not inside_workspace(root, outside / "secret.py")
    (root / "loop.py").symlink_to("loop.py")
    assert not inside_workspace(root, root / "loop.py")


@pytest.mark.slow
def test_mochi_index_and_search_never_show_a_file_outside(
    git_repo: GitRepo, tmp_path: Path, outside: Path
) -> None:
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "xdg"), "HF_HUB_OFFLINE": "1"}
    root = git_repo.root
    git_repo.write("real.py", REAL_PY)
    (root / "passwd.txt").symlink_to("/etc/passwd")
    (root / "secret.py").symlink_to(outside / "secret.py")
    git_repo.commit("a file and two links out")

    first = mochi("index", str(root), "--json", env=env)
    assert first.returncode == 0, first.stderr
    skips = json.loads(first.stdout)["report"]["skips"]
    assert skips["outside_workspace"] == 2
    assert set(skips["examples"]["outside_workspace"]) == {"passwd.txt", "secret.py"}
    again = mochi("index", str(root), env=env)
    assert again.returncode == 0, again.stderr
    assert "2 outside workspace" in again.stdout

    query = "root x 0 0 /root /bin/bash daemon outside secret"
    found = mochi("search", query, "--path", str(root), "--json", "-k", "50", env=env)
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)
    assert {hit["path"] for hit in hits if hit["source"] != "commit"} == {"real.py"}
    assert PASSWD not in found.stdout and MARKER not in found.stdout
