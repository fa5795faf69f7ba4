"""`mochi serve` end to end through a real LSP client (pytest-lsp), with the Neovim and
VS Code capability profiles, the real default models (SmolLM2-135M from its wheel,
all-MiniLM-L6-v2) and Qdrant Edge on a real git repository."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_lsp
from lsp_fixtures import (
    DEFAULT_BACKEND,
    MAIN_PY,
    SERVER_COMMAND,
    build_repo,
    command,
    end_of,
    inline,
    open_doc,
    ready_status,
    wait_until_indexed,
)
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

pytestmark = [pytest.mark.model, pytest.mark.slow]

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=SERVER_COMMAND, server_env=ENV),
    params=["neovim", "visual-studio-code"],
)
async def client(
    request: pytest.FixtureRequest, lsp_client: LanguageClient, tmp_path: Path, model_data_dir: Path
) -> AsyncIterator[None]:
    repo = build_repo(tmp_path / "ws")
    lsp_client.repo = repo  # type: ignore[attr-defined]
    lsp_client.initialized_with = await lsp_client.initialize_session(  # type: ignore[attr-defined]
        types.InitializeParams(
            capabilities=client_capabilities(request.param),
            root_uri=repo.root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=repo.root.as_uri(), name="ws")],
            initialization_options={"dataDir": str(model_data_dir)},
        )
    )
    await wait_until_indexed(lsp_client)
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_capabilities_and_indexing_progress(client: LanguageClient) -> None:
    caps = client.initialized_with.capabilities  # type: ignore[attr-defined]
    assert caps.completion_provider is not None
    assert caps.inline_completion_provider is not None
    assert caps.hover_provider
    assert caps.code_action_provider is not None
    assert caps.workspace_symbol_provider
    commands = set(caps.execute_command_provider.commands)
    assert {"mochi.reindex", "mochi.search", "mochi.status", "mochi.train"} <= commands
    assert {"mochi.selectExpert", "mochi.explain", "mochi.findSimilar"} <= commands
    reports = next(iter(client.progress_reports.values()))
    assert isinstance(reports[0], types.WorkDoneProgressBegin)
    assert reports[0].title == "mochi: indexing" and reports[0].cancellable
    assert isinstance(reports[-1], types.WorkDoneProgressEnd)
    assert "chunks embedded" in (reports[-1].message or "")


@pytest.mark.asyncio
async def test_completion_and_inline_completion(client: LanguageClient) -> None:
    text = MAIN_PY + "\n\ndef multiply(a, b):\n    return "
    uri = open_doc(client, "app/main.py", text)
    at = end_of(text)
    result = await inline(client, uri, at)
    assert len(result.items) == 1
    suggestion = result.items[0].insert_text
    assert "\n" not in suggestion and "a" in suggestion and "b" in suggestion
    assert result.items[0].range == types.Range(start=at, end=at)

    listed = await client.text_document_completion_async(
        types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=at)
    )
    assert listed.is_incomplete and len(listed.items) == 1
    assert listed.items[0].text_edit.new_text == suggestion  # same model, same prompt

    # Two requests for one document: the newer one supersedes the older.
    first, second = await asyncio.gather(inline(client, uri, at), inline(client, uri, at))
    assert not first.items and len(second.items) == 1

    # $/cancelRequest: the request ends with an error and the server keeps serving.
    # (pytest-lsp's send_request_async sends only when awaited: send synchronously.)
    pending = client.protocol.send_request(
        types.TEXT_DOCUMENT_INLINE_COMPLETION,
        types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=at,
            context=types.InlineCompletionContext(
                trigger_kind=types.InlineCompletionTriggerKind.Invoked
            ),
        ),
        msg_id="cancel-me",
    )
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="cancel-me"))
    with pytest.raises(Exception, match=r"(?i)cancel"):
        await asyncio.wrap_future(pending)
    assert len((await inline(client, uri, at)).items) == 1


@pytest.mark.asyncio
async def test_hover_code_actions_commands_symbols(client: LanguageClient) -> None:
    uri = open_doc(client, "app/main.py", MAIN_PY)
    line = MAIN_PY.split("\n").index('    shape = registry.build_shape("circle", 2)')
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=line, character=25),
        )
    )
    assert "geometry/registry.py" in hover.contents.value
    assert "def build_shape" in hover.contents.value

    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(start=types.Position(3, 4), end=types.Position(3, 4)),
            context=types.CodeActionContext(diagnostics=[]),
        )
    )
    titles = [a.title for a in actions]
    assert any("Explain `add`" in t for t in titles)
    assert (
        "mochi: Generate docstring" in titles and "mochi: Write tests for this function" in titles
    )
    docstring = next(a for a in actions if a.title == "mochi: Generate docstring")
    assert docstring.edit is None  # computed lazily, on resolve
    resolved = await client.code_action_resolve_async(docstring)
    (edit,) = resolved.edit.changes[uri]
    assert edit.range.start.line == 4 and edit.new_text.lstrip().startswith('"""')

    locations = await command(client, "mochi.search", "register a factory for a shape")
    assert locations[0]["uri"].endswith("geometry/registry.py")
    status = await command(client, "mochi.status")
    assert status["index"]["chunks"] > 0 and status["backend"] == DEFAULT_BACKEND
    assert status["trainer"] == "not configured"
    explanation = await command(client, "mochi.explain", uri, 3)
    assert explanation.startswith("`add`") and len(client.shown_documents) == 1
    similar = await command(client, "mochi.findSimilar", uri, 7)
    assert isinstance(similar, list)

    symbols = await client.workspace_symbol_async(
        types.WorkspaceSymbolParams(query="shape registry")
    )
    assert "register_shape_factory" in {s.name for s in symbols}


@pytest.mark.asyncio
async def test_errors_leave_the_server_serving(client: LanguageClient) -> None:
    with pytest.raises(Exception, match="no training daemon"):
        await command(client, "mochi.train")
    with pytest.raises(Exception, match="unknown expert"):
        await command(client, "mochi.selectExpert", "nope")
    with pytest.raises(Exception, match="must be str"):
        await command(client, "mochi.search", 42)
    with pytest.raises(Exception, match=r"(?i)not (defined|found)"):
        await command(client, "mochi.noSuchCommand")
    with pytest.raises(Exception):  # noqa: B017 - any JSON-RPC error will do
        await client.protocol.send_request_async("mochi/noSuchMethod", {})
    status = await ready_status(lambda: command(client, "mochi.status"))
    assert status["model"] is not None


@pytest.mark.asyncio
async def test_configuration_changes(client: LanguageClient) -> None:
    text = "def multiply(a, b):\n    return "
    uri = open_doc(client, "app/ops.py", text)
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"mochi": {"completion": {"enabled": False}}})
    )
    await asyncio.sleep(0.5)
    assert not (await inline(client, uri, end_of(text))).items
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"completion": {"maxTokens": "many"}})
    )
    await asyncio.sleep(0.5)
    assert any("completion.max_tokens" in m.message for m in client.messages)
    assert len((await inline(client, uri, end_of(text))).items) == 1  # defaults again


@pytest.mark.asyncio
async def test_hover_with_model_explanation(client: LanguageClient) -> None:
    uri = open_doc(client, "app/main.py", MAIN_PY)
    line = MAIN_PY.split("\n").index('    shape = registry.build_shape("circle", 2)')
    params = types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=line, character=25),
    )
    plain = (await client.text_document_hover_async(params)).contents.value
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"hover": {"explain": True}})
    )
    await asyncio.sleep(0.5)
    explained = (await client.text_document_hover_async(params)).contents.value
    assert explained.startswith(plain)  # the same facts, then the explanation
    assert explained[len(plain) :].strip().startswith("`build_shape`")
