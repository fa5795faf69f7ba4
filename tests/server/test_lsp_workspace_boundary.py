"""The server reads no file outside the workspace: a document the editor has not opened is
read from disk only when it lies inside the workspace with every link followed (real
client, real embedding model; no generation model: hover needs only the index)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_lsp
from lsp_fixtures import MAIN_PY, SERVER_COMMAND, build_repo, wait_until_indexed
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

pytestmark = [pytest.mark.slow]

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
LINE = MAIN_PY.split("\n").index('    shape = registry.build_shape("circle", 2)')


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER_COMMAND, server_env=ENV))
async def client(lsp_client: LanguageClient, tmp_path: Path) -> AsyncIterator[None]:
    repo = build_repo(tmp_path / "ws")
    outside = tmp_path / "outside.py"
    outside.write_text(MAIN_PY)  # the same text, so a hover there would find build_shape
    (repo.root / "app" / "linked.py").symlink_to(outside)
    (repo.root / "app" / "loop.py").symlink_to("loop.py")
    lsp_client.repo = repo  # type: ignore[attr-defined]
    lsp_client.outside = outside  # type: ignore[attr-defined]
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=repo.root.as_uri(),
            initialization_options={
                "dataDir": str(tmp_path / "data"),
                "model": {"backend": "vllm", "vllmUrl": "http://127.0.0.1:9"},  # none here
            },
        )
    )
    await wait_until_indexed(lsp_client)
    yield
    await lsp_client.shutdown_session()


async def hover(client: LanguageClient, path: Path) -> types.Hover | None:
    return await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=path.as_uri()),
            position=types.Position(line=LINE, character=25),
        )
    )


@pytest.mark.asyncio
async def test_documents_not_open_are_read_only_inside_the_workspace(
    client: LanguageClient,
) -> None:
    root: Path = client.repo.root  # type: ignore[attr-defined]
    outside: Path = client.outside  # type: ignore[attr-defined]
    inside = await hover(client, root / "app" / "main.py")  # not open: read from disk
    assert inside is not None and "def build_shape" in inside.contents.value  # type: ignore[union-attr]
    assert await hover(client, outside) is None
    assert await hover(client, root / "app" / "linked.py") is None  # a link out
    assert await hover(client, root / "app" / "loop.py") is None  # a link loop
    again = await hover(client, root / "app" / "main.py")  # still serving
    assert again is not None
