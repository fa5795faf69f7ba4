"""`mochi search` beside a real `mochi serve`: the query goes to the server's index share
(no lock error, no model load in the command) and the command prints the hits it prints
when it searches the index itself, once the server is gone.

A real language server (pytest-lsp client, the real default embedding model, the tiny
random Llama as its generator) and real `mochi search` processes."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_lsp
from geometry_sample import GEOMETRY
from lsp_fixtures import SERVER_COMMAND, build_repo, wait_until_indexed
from lsprotocol import types
from mochi_cli import mochi
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from mochi.rag.paths import index_dir
from mochi.server.mcp.share_wire import read_share_file, share_path

pytestmark = [pytest.mark.slow]

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
QUERY = "compute the area of a circle"


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER_COMMAND, server_env=ENV))
async def client(
    lsp_client: LanguageClient, tmp_path: Path, tiny_model_dir: Path
) -> AsyncIterator[None]:
    repo = build_repo(tmp_path / "ws")
    repo.write("pkg/geometry.py", GEOMETRY)
    # The server and the command read the same settings: the same data dir, so one index.
    data = tmp_path / "data"
    repo.write(".mochi.toml", f'data_dir = "{data}"\n\n[model]\nname = "{tiny_model_dir}"\n')
    repo.commit("Add geometry helpers")
    lsp_client.repo = repo  # type: ignore[attr-defined]
    lsp_client.data = data  # type: ignore[attr-defined]
    lsp_client.shut_down = False  # type: ignore[attr-defined]
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"), root_uri=repo.root.as_uri()
        )
    )
    await wait_until_indexed(lsp_client)
    yield
    if not lsp_client.shut_down:  # type: ignore[attr-defined]
        await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_mochi_search_is_answered_by_the_running_server(client: LanguageClient) -> None:
    root = client.repo.root  # type: ignore[attr-defined]
    data: Path = client.data  # type: ignore[attr-defined]
    share = read_share_file(share_path(index_dir(data, root.resolve())))
    assert share is not None, "the language server shares its index"

    served = mochi("-v", "search", QUERY, "-w", str(root), "-k", "3", env=ENV)
    assert served.returncode == 0, served.stderr
    assert f"answered by the language server (pid {share.pid})" in served.stderr
    assert served.stdout.startswith(" 1. pkg/geometry.py:6 circle_area"), served.stdout
    served_json = mochi("search", "area", "-w", str(root), "--json", "--kind", "function", env=ENV)
    assert served_json.returncode == 0, served_json.stderr

    await client.shutdown_session()
    client.shut_down = True  # type: ignore[attr-defined]
    local = mochi("-v", "search", QUERY, "-w", str(root), "-k", "3", env=ENV)
    assert local.returncode == 0, local.stderr
    assert "answered by the language server" not in local.stderr
    assert local.stdout == served.stdout
    local_json = mochi("search", "area", "-w", str(root), "--json", "--kind", "function", env=ENV)
    where = [(h["path"], h["start_line"], h["kind"]) for h in json.loads(served_json.stdout)]
    assert where == [(h["path"], h["start_line"], h["kind"]) for h in json.loads(local_json.stdout)]
    assert where and all(kind == "function" for _, _, kind in where)
