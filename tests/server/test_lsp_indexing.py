"""Indexing through the server: the client cancels the initial indexing from its progress
bar, and a saved file is re-indexed (real client, real models, real git repository)."""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_lsp
from git_repo import GitRepo
from lsp_fixtures import SERVER_COMMAND
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

pytestmark = [pytest.mark.model, pytest.mark.slow]
FILES = 150


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=SERVER_COMMAND, server_env={**os.environ, "HF_HUB_OFFLINE": "1"}
    )
)
async def client(
    lsp_client: LanguageClient, tmp_path: Path, model_data_dir: Path
) -> AsyncIterator[None]:
    repo = GitRepo.create(tmp_path / "ws")
    for i in range(FILES):  # enough work for a cancel to land mid-way
        repo.write(f"pkg/mod{i}.py", f"def handler_{i}(event):\n    return event.get('k{i}')\n")
    repo.commit("many modules")
    lsp_client.repo = repo  # type: ignore[attr-defined]
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=repo.root.as_uri(),
            initialization_options={"dataDir": str(model_data_dir), "index": {"batchChunks": 8}},
        )
    )
    yield
    await lsp_client.shutdown_session()


async def progress_ends(client: LanguageClient, count: int, timeout: float = 300) -> list[str]:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        ends = [
            r.message or ""
            for reports in client.progress_reports.values()
            for r in reports
            if isinstance(r, types.WorkDoneProgressEnd)
        ]
        if len(ends) >= count:
            return ends
        await asyncio.sleep(0.05)
    raise AssertionError(f"no progress end: {client.progress_reports}")


@pytest.mark.asyncio
async def test_cancel_initial_indexing_then_save_reindexes(client: LanguageClient) -> None:
    # Cancel the initial indexing as soon as it begins.
    while not client.progress_reports or not next(iter(client.progress_reports.values())):
        await asyncio.sleep(0.01)
    token = next(iter(client.progress_reports))
    client.protocol.notify(
        types.WINDOW_WORK_DONE_PROGRESS_CANCEL, types.WorkDoneProgressCancelParams(token=token)
    )
    (first,) = await progress_ends(client, 1)
    assert "(cancelled)" in first
    status = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="mochi.status", arguments=[])
    )
    assert status["index"]["documents"] < FILES  # stopped early; batches done are kept

    # A save re-indexes: the rest of the workspace and the saved file's new text.
    repo: GitRepo = client.repo  # type: ignore[attr-defined]
    path = repo.write("pkg/new_feature.py", "def zebra_crossing_signal(light):\n    return light\n")
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(
            text_document=types.TextDocumentIdentifier(uri=path.as_uri())
        )
    )
    ends = await progress_ends(client, 2)
    assert "(cancelled)" not in ends[-1]
    hits = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="mochi.search", arguments=["zebra crossing signal"])
    )
    assert hits[0]["uri"].endswith("pkg/new_feature.py")
    status = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="mochi.status", arguments=[])
    )
    assert status["index"]["documents"] >= FILES + 1

    # the filters of `mochi search` as a third argument; a bad one is named
    async def search(filters: object) -> list[dict[str, object]]:
        arguments = ["zebra crossing signal", 5, filters]
        found: list[dict[str, object]] = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="mochi.search", arguments=arguments)
        )
        return found

    only = await search({"glob": "pkg/mod1*.py"})
    assert only and all(re.search(r"/pkg/mod1\d*\.py$", str(h["uri"])) for h in only)
    rest = await search({"exclude": ["pkg/new_feature.py"], "noTests": True})
    assert rest and not any(str(h["uri"]).endswith("pkg/new_feature.py") for h in rest)
    with pytest.raises(Exception, match="unknown search filter 'path'"):
        await search({"path": "pkg/*"})
