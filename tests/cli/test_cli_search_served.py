"""`mochi search` beside a process that holds the index: it forwards the query to that
process's index share and prints what the local path prints; when the share does not
answer it searches the index itself, and when the index is locked by a process that
does not share it, it says so.

The holder here is this test process (an index with the hashing embedder and the
language server's share endpoint over it); `test_cli_search_shared_server.py` runs the
same against a real `mochi serve`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from geometry_sample import GEOMETRY
from git_repo import GitRepo
from hashing_embedder import HashingEmbedder

from mochi.rag.index import WorkspaceIndex, open_workspace_index
from mochi.rag.paths import index_dir
from mochi.server.cli import search_local
from mochi.server.cli.main import main
from mochi.server.config import MochiConfig, load_config
from mochi.server.mcp.backend import IndexBackend
from mochi.server.mcp.local_model import LazyModel
from mochi.server.mcp.share_endpoint import ShareEndpoint
from mochi.server.mcp.share_wire import ShareInfo, share_path, socket_path, write_share_file
from mochi.server.mcp.tools import ContextSettings

TESTS_PY = """from pkg.geometry import circle_area


def test_circle_area():
    assert circle_area(1) > 3
"""
QUERY = "compute the area of a circle"
# Not importing the model and the language server is what makes a forwarded search fast.
HEAVY = ("torch", "sentence_transformers", "transformers", "onnxruntime", "qdrant_client", "mcp")


@pytest.fixture
def workspace(git_repo: GitRepo, tmp_path: Path) -> GitRepo:
    git_repo.write("pkg/geometry.py", GEOMETRY)
    git_repo.write("tests/test_geometry.py", TESTS_PY)
    git_repo.write("docs/guide.md", "# Guide\n\n## Areas\n\nCircles have an area.\n")
    git_repo.write(".mochi.toml", f'data_dir = "{tmp_path / "data"}"\n')
    git_repo.commit("Add geometry helpers")
    return git_repo


@pytest.fixture
def config(workspace: GitRepo) -> MochiConfig:
    return load_config(workspace.root)


@pytest.fixture
def index(workspace: GitRepo, config: MochiConfig) -> Iterator[WorkspaceIndex]:
    """The workspace indexed with the hashing embedder, held (locked) by this process."""
    opened = open_workspace_index(workspace.root, config, embedder=HashingEmbedder())
    opened.sync()
    yield opened
    opened.close()


@pytest.fixture
def local_embedder(monkeypatch: pytest.MonkeyPatch) -> None:
    """The local path embeds with the model the index was built with."""
    monkeypatch.setattr(search_local, "_embedder", lambda config: HashingEmbedder())


def share(index: WorkspaceIndex, config: MochiConfig) -> ShareEndpoint:
    """The language server's share over `index` (as `lsp/index_share.py` starts it)."""
    settings = ContextSettings(512, 4, len)
    backend = IndexBackend(
        index,
        lambda: settings,
        LazyModel(config, index.root),
        config=lambda: config,
        run_index=lambda work: work(),
        mode="shared",
    )
    endpoint = ShareEndpoint(
        backend, index.root, share_path(index.location), socket_path(index.location)
    )
    endpoint.start()
    return endpoint


def search(capsys: pytest.CaptureFixture[str], root: Path, *options: str) -> tuple[int, str, str]:
    code = main(["search", QUERY, "-w", str(root), "-k", "3", *options])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.usefixtures("local_embedder")
def test_a_shared_index_answers_and_prints_what_the_local_path_prints(
    workspace: GitRepo,
    index: WorkspaceIndex,
    config: MochiConfig,
    capsys: pytest.CaptureFixture[str],
) -> None:
    endpoint = share(index, config)
    try:
        # The index is locked by this process: only the share can answer.
        served = search(capsys, workspace.root)
        served_json = search(capsys, workspace.root, "--json", "--no-tests", "--lang", "python")
    finally:
        endpoint.close()
        index.close()
    assert served[0] == 0, served[2]
    assert served[1].startswith(" 1. pkg/geometry.py:6 circle_area"), served[1]
    local = search(capsys, workspace.root)
    local_json = search(capsys, workspace.root, "--json", "--no-tests", "--lang", "python")
    assert local == served
    assert local_json == served_json
    hits = json.loads(served_json[1])
    assert hits and all(not h["path"].startswith("tests/") for h in hits)


def test_a_forwarded_search_imports_no_model_library(
    workspace: GitRepo, index: WorkspaceIndex, config: MochiConfig
) -> None:
    endpoint = share(index, config)
    script = (
        "import sys\n"
        "from mochi.server.cli.main import main\n"
        f"code = main(['search', {QUERY!r}, '-w', {str(workspace.root)!r}, '-k', '2'])\n"
        f"loaded = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print('loaded:', loaded)\n"
        "sys.exit(code)\n"
    )
    try:
        run = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
            timeout=120,
        )
    finally:
        endpoint.close()
    assert run.returncode == 0, run.stderr
    assert " 1. pkg/geometry.py:6 circle_area" in run.stdout
    assert "loaded: []" in run.stdout


@pytest.mark.usefixtures("local_embedder")
def test_a_share_nobody_answers_on_falls_back_to_the_local_path(
    workspace: GitRepo,
    index: WorkspaceIndex,
    config: MochiConfig,
    capsys: pytest.CaptureFixture[str],
) -> None:
    location = index.location
    index.close()
    expected = search(capsys, workspace.root)
    assert expected[0] == 0 and expected[1].startswith(" 1. pkg/geometry.py:6")
    # A live pid (this one) whose socket is gone, then a dead server's file.
    gone = ShareInfo(str(location / "gone.sock"), "token", os.getpid(), str(workspace.root))
    write_share_file(share_path(location), gone)
    assert search(capsys, workspace.root) == expected
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], stdout=-1)
    stale = ShareInfo(gone.socket, "token", int(dead.stdout), str(workspace.root))
    write_share_file(share_path(location), stale)
    assert search(capsys, workspace.root) == expected


def test_an_index_locked_by_a_process_that_does_not_share_it_is_explained(
    workspace: GitRepo, index: WorkspaceIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = search(capsys, workspace.root)
    assert code == 3 and out == ""
    assert f"held by another mochi process (pid {os.getpid()})" in err
    assert "does not share the index" in err and "share_index = true" in err
    dead = ShareInfo(str(index.location / "gone.sock"), "t", os.getpid(), str(workspace.root))
    write_share_file(share_path(index.location), dead)
    code, _, err = search(capsys, workspace.root)
    assert code == 3 and "its index share does not answer" in err


def test_no_index_yet_says_to_run_mochi_index(
    workspace: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = search(capsys, workspace.root)
    assert code == 2 and out == ""
    assert "has no index yet" in err and "mochi index" in err
    location = index_dir(Path(load_config(workspace.root).data_dir), workspace.root.resolve())
    assert not location.exists()  # looking created nothing
