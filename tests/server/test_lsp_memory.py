"""`mochi serve` keeps a token memory of the workspace and completes from it: with the
real SmolLM2-135M (pytest-lsp client, a real git repository), the memory makes the next
completion write what the repository wrote; after a save the memory holds the new text
and the completion follows it."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from git_repo import GitRepo
from lsp_fixtures import SERVER_COMMAND, command, inline, open_doc, wait_until_indexed
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

pytestmark = [pytest.mark.model, pytest.mark.slow]

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
CALC = """def quokka_total(values):
    running = 0
    for value in values:
        running += value * 7 - 3
    return running
"""
LINE = "        running += value * 7 - 3"


def options(data_dir: Path, memory: bool) -> dict[str, Any]:
    return {
        "dataDir": str(data_dir),
        "completion": {"memory": memory, "contextTokens": 0},
        "memory": {"weight": 1.0, "neighbours": 1},  # the memory alone decides
    }


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER_COMMAND, server_env=ENV))
async def client(
    lsp_client: LanguageClient, tmp_path: Path, model_data_dir: Path
) -> AsyncIterator[None]:
    repo = GitRepo.create(tmp_path / "ws")
    repo.write("calc.py", CALC)
    repo.commit("calc")
    lsp_client.repo = repo  # type: ignore[attr-defined]
    lsp_client.data_dir = model_data_dir  # type: ignore[attr-defined]
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=repo.root.as_uri(),
            initialization_options=options(model_data_dir, memory=True),
        )
    )
    await wait_until_indexed(lsp_client)
    yield
    await lsp_client.shutdown_session()


async def memory_tokens(client: LanguageClient, above: int = 0, timeout: float = 120) -> int:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        tokens = int((await command(client, "mochi.status"))["memoryTokens"])
        if tokens > above:
            return tokens
        await asyncio.sleep(0.2)
    raise AssertionError("the token memory was not built")


async def complete_line(client: LanguageClient, text: str) -> str:
    """The suggestion at the start of the line that CALC's fourth line stood on."""
    before = text[: text.index("        running +=")]
    document = before + text[text.index("\n    return") :]
    uri = open_doc(client, "calc.py", document)
    at = types.Position(line=before.count("\n"), character=0)
    result = await inline(client, uri, at)
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    return result.items[0].insert_text if result.items else ""


@pytest.mark.asyncio
async def test_the_memory_completes_the_line_and_follows_a_save(client: LanguageClient) -> None:
    tokens = await memory_tokens(client)
    assert await complete_line(client, CALC) == LINE
    # Without the memory the model writes something else.
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings=options(client.data_dir, memory=False))  # type: ignore[attr-defined]
    )
    await asyncio.sleep(1.0)
    assert await complete_line(client, CALC) != LINE
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings=options(client.data_dir, memory=True))  # type: ignore[attr-defined]
    )
    # A saved change reaches the memory (only that file is read again).
    repo: GitRepo = client.repo  # type: ignore[attr-defined]
    changed = CALC.replace("value * 7 - 3", "value * 11 + 2")
    repo.write("calc.py", changed)
    uri = (repo.root / "calc.py").as_uri()
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if await complete_line(client, changed) == "        running += value * 11 + 2":
            break
        await asyncio.sleep(0.5)
    else:
        raise AssertionError("the memory did not follow the save")
    assert await memory_tokens(client) >= tokens - 2
