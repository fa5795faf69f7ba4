"""`mochi index` / `mochi search` / `mochi doctor` as users run them: real processes,
the real default embedding model, Qdrant Edge, a real git repository."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from geometry_sample import GEOMETRY
from git_repo import GitRepo
from mochi_cli import mochi

from mochi.rag.index.lock import IndexLock
from mochi.rag.paths import index_dir


@pytest.fixture
def workspace(git_repo: GitRepo) -> GitRepo:
    git_repo.write("pkg/geometry.py", GEOMETRY)
    git_repo.write("docs/guide.md", "# Guide\n\n## Configuration\n\nmochi reads `.mochi.toml`.\n")
    git_repo.commit("Add geometry helpers")
    return git_repo


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "XDG_DATA_HOME": str(tmp_path / "xdg"), "HF_HUB_OFFLINE": "1"}


@pytest.mark.slow
def test_index_search_reindex_cycle(workspace: GitRepo, env: dict[str, str]) -> None:
    root = str(workspace.root)
    first = mochi("index", root, "--json", env=env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip().startswith("{")  # stdout holds the report only
    report = json.loads(first.stdout)["report"]
    assert report["chunks_embedded"] > 0

    found = mochi("search", "compute the area of a circle", "-w", root, "-k", "3", env=env)
    assert found.returncode == 0, found.stderr
    top = found.stdout.splitlines()[0]
    assert top.startswith(" 1. pkg/geometry.py:6 circle_area"), found.stdout
    assert "def circle_area(radius):" in found.stdout  # a snippet follows the hit

    as_json = mochi("search", "read key value config file", "--path", root, "--json", env=env)
    hits = json.loads(as_json.stdout)
    assert hits[0]["symbol"] == "parse_config" and hits[0]["start_line"] == 11

    again = mochi("index", root, "--json", env=env)
    assert json.loads(again.stdout)["report"]["chunks_embedded"] == 0

    path = workspace.root / "pkg/geometry.py"
    path.write_text(GEOMETRY.replace("math.pi * radius * radius", "math.pi * radius ** 2"))
    edited = mochi("index", root, "--json", env=env)
    assert json.loads(edited.stdout)["report"]["chunks_embedded"] == 1

    human = mochi("index", root, env=env)
    assert human.returncode == 0
    assert "0 chunks embedded" in human.stdout
    # The documents and chunks the index holds, counted as `mochi.status` counts them.
    status = json.loads(edited.stdout)["status"]
    counts = f"({status['backend']}, {status['documents']} documents, {status['chunks']} chunks)"
    assert human.stdout.strip().splitlines()[-1].endswith(counts), human.stdout


@pytest.mark.slow
def test_second_process_gets_a_clear_message(
    workspace: GitRepo, env: dict[str, str], tmp_path: Path
) -> None:
    lock = IndexLock(index_dir(tmp_path / "xdg" / "mochi", workspace.root) / "lock")
    lock.acquire(str(workspace.root))
    try:
        refused = mochi("index", str(workspace.root), env=env)
    finally:
        lock.release()
    assert refused.returncode == 3
    assert "in use by another mochi process" in refused.stderr
    assert refused.stdout == ""
    assert mochi("index", str(workspace.root), "--quiet", env=env).returncode == 0


def test_bad_config_names_the_key(workspace: GitRepo, env: dict[str, str]) -> None:
    (workspace.root / ".mochi.toml").write_text("[index]\nmax_fiel_bytes = 1\n")
    result = mochi("index", str(workspace.root), env=env)
    assert result.returncode == 2
    assert "index.max_fiel_bytes" in result.stderr and "max_file_bytes" in result.stderr


def test_search_before_index_says_what_to_do(workspace: GitRepo, env: dict[str, str]) -> None:
    result = mochi("search", "anything", "--path", str(workspace.root), env=env)
    assert result.returncode == 2
    assert "mochi index" in result.stderr


def test_missing_folder_is_an_error(tmp_path: Path, env: dict[str, str]) -> None:
    result = mochi("index", str(tmp_path / "nope"), env=env)
    assert result.returncode == 2 and "is not a folder" in result.stderr


def test_doctor_reports_each_part(workspace: GitRepo, env: dict[str, str]) -> None:
    result = mochi("doctor", str(workspace.root), env=env)
    assert result.returncode == 0, result.stdout
    for part in ("qdrant-edge-py", "embedding model", "vector store", "workspace"):
        assert part in result.stdout
    (workspace.root / ".mochi.toml").write_text(
        '[store]\nbackend = "qdrant"\nurl = "http://127.0.0.1:9"\n'
    )
    broken = mochi("doctor", str(workspace.root), env=env)
    assert broken.returncode == 1
    assert "!!  vector store" in broken.stdout and "fix:" in broken.stdout
