"""The real model (SmolLM2-135M) completes with an identifier that exists only in another
file of the workspace: proof that cross-file context from the index reaches the model."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_lsp
from git_repo import GitRepo
from lsp_fixtures import SERVER_COMMAND, end_of, inline, open_doc, wait_until_indexed
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

pytestmark = [pytest.mark.model, pytest.mark.slow]

# The only place the name exists: another file of the repository.
PLUGINS_PY = '''"""Plugin loading."""

_REGISTRY = {}


def install_quokka_plugin(app, settings):
    """Install the quokka plugin into `app`."""
    _REGISTRY["quokka"] = (app, settings)
    return app
'''

CURRENT = """import plugins


def create_app(settings):
    app = object()
    plugins.install_"""


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=SERVER_COMMAND, server_env={**os.environ, "HF_HUB_OFFLINE": "1"}
    )
)
async def client(
    lsp_client: LanguageClient, tmp_path: Path, model_data_dir: Path
) -> AsyncIterator[None]:
    repo = GitRepo.create(tmp_path / "ws")
    repo.write("plugins.py", PLUGINS_PY)
    repo.commit("Add plugins")
    lsp_client.repo = repo  # type: ignore[attr-defined]
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=repo.root.as_uri(),
            initialization_options={
                "dataDir": str(model_data_dir),
                "completion": {"maxTokens": 16},
            },
        )
    )
    await wait_until_indexed(lsp_client)
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_completion_uses_an_identifier_from_another_file(client: LanguageClient) -> None:
    uri = open_doc(client, "app.py", CURRENT)
    with_context = await inline(client, uri, end_of(CURRENT))
    assert with_context.items, "no suggestion"
    assert with_context.items[0].insert_text.startswith("quokka_plugin")

    # Control: the same request without cross-file context does not know the name.
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(
            settings={"completion": {"contextTokens": 0, "maxTokens": 16}}
        )
    )
    await asyncio.sleep(0.5)
    without = await inline(client, uri, end_of(CURRENT))
    assert not without.items or "quokka" not in without.items[0].insert_text
