"""The session itself: a second `initialize` is refused and loses nothing, and a client
that never answers `window/workDoneProgress/create` still gets its workspace indexed.

Real `mochi serve` processes and pytest-lsp clients; the tiny random Llama stands in for
the model (it is not under test)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsp_fixtures import SERVER_COMMAND, build_repo, command, open_doc, wait_until_indexed
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.protocol import default_converter
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

pytestmark = [pytest.mark.slow]

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
INVALID_REQUEST = -32600


def initialize_params(root: Path, data: Path, model: Path) -> types.InitializeParams:
    return types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        root_uri=root.as_uri(),
        initialization_options={
            "dataDir": str(data),
            "model": {"name": str(model), "dtype": "float32"},
        },
    )


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER_COMMAND, server_env=ENV))
async def client(
    lsp_client: LanguageClient, tmp_path: Path, tiny_model_dir: Path
) -> AsyncIterator[None]:
    repo = build_repo(tmp_path / "ws")
    lsp_client.repo = repo  # type: ignore[attr-defined]
    await lsp_client.initialize_session(
        initialize_params(repo.root, tmp_path / "data", tiny_model_dir)
    )
    await wait_until_indexed(lsp_client)
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_a_second_initialize_is_refused_and_the_session_is_kept(
    client: LanguageClient,
) -> None:
    root: Path = client.repo.root  # type: ignore[attr-defined]
    # A buffer whose text exists only in the editor.
    uri = open_doc(client, "app/draft.py", "def only_in_the_buffer(x):\n    return x\n")
    again = initialize_params(root, root / "elsewhere", root)
    again.root_uri = None
    with pytest.raises(JsonRpcException) as raised:
        await client.initialize_async(again)
    assert raised.value.code == INVALID_REQUEST and "only once" in str(raised.value)
    client.initialized(types.InitializedParams())  # a client may follow up regardless
    await asyncio.sleep(2)

    status = await command(client, "mochi.status")
    assert status["workspace"] == str(root.resolve())
    at = types.Position(0, 4)
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(start=at, end=at),
            context=types.CodeActionContext(diagnostics=[]),
        )
    )
    assert "mochi: Explain `only_in_the_buffer`" in [a.title for a in actions]
    assert status["indexError"] is None and status["index"]["chunks"] > 0
    assert not [m.message for m in client.messages if "index" in m.message]  # started once


async def never_answer(client: LanguageClient, params: types.WorkDoneProgressCreateParams) -> None:
    client.progress_create_requests += 1  # type: ignore[attr-defined]
    await client.end_of_test.wait()  # type: ignore[attr-defined]  # no answer during the test


def silent_progress_client() -> LanguageClient:
    """A test client that never answers window/workDoneProgress/create."""
    client = LanguageClient(converter_factory=default_converter)
    client.progress_create_requests = 0  # type: ignore[attr-defined]
    client.end_of_test = asyncio.Event()  # type: ignore[attr-defined]
    silent = {**DEFAULT_CLIENT_FEATURES, types.WINDOW_WORK_DONE_PROGRESS_CREATE: never_answer}
    register_lsp_features(client, silent)
    return client


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=SERVER_COMMAND, server_env=ENV, client_factory=silent_progress_client
    )
)
async def silent_client(
    lsp_client: LanguageClient, tmp_path: Path, tiny_model_dir: Path
) -> AsyncIterator[None]:
    repo = build_repo(tmp_path / "ws")
    await lsp_client.initialize_session(
        initialize_params(repo.root, tmp_path / "data", tiny_model_dir)
    )
    yield
    lsp_client.end_of_test.set()  # type: ignore[attr-defined]
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_indexing_goes_on_when_the_client_never_answers_progress_create(
    silent_client: LanguageClient,
) -> None:
    deadline = time.monotonic() + 90
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        status = await command(silent_client, "mochi.status")
        if status["index"] and status["index"]["chunks"] > 0:
            break
        await asyncio.sleep(0.5)
    assert status["index"] and status["index"]["chunks"] > 0, status
    assert silent_client.progress_create_requests >= 1  # type: ignore[attr-defined]
    hits = await command(silent_client, "mochi.search", "register a shape factory", 3)
    assert hits
