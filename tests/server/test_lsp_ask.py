"""`mochi.ask` through a real LSP client (pytest-lsp): the server retrieves from its real
index (Qdrant Edge, the hashing embedder, a real git repository), asks a real HTTP
OpenAI-compatible server (the stand-in, configured by initializationOptions) or its own
model (fake_model_server.py's stand-in), and answers with `path:line` citations and
their URIs. A $/cancelRequest stops the answer mid-stream; a missing LLM is named. The
"Ask about this selection" code action is checked on the server's own document store."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import pytest_asyncio
from chat_stand_in import ChatStandIn, sources_in
from lsp_fixtures import build_repo, command, wait_until_indexed
from lsprotocol import types
from pygls.workspace import Workspace
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from mochi.server.config import MochiConfig
from mochi.server.lsp.features.ask import ASK_SELECTION, ask_code_actions

SERVER = [sys.executable, str(Path(__file__).with_name("fake_model_server.py"))]
QUESTION = "How do I register a shape factory?"

pytestmark = pytest.mark.slow  # each test starts a server and indexes a repository


@pytest.fixture
def stand_in() -> Iterator[ChatStandIn]:
    server = ChatStandIn().start()
    yield server
    server.stop()


@pytest_asyncio.fixture
async def client(tmp_path: Path, stand_in: ChatStandIn) -> AsyncIterator[LanguageClient]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOCHI_")}
    env |= {"XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_DATA_HOME": str(tmp_path / "data")}
    lsp: LanguageClient = await ClientServerConfig(  # type: ignore[assignment]
        server_command=SERVER, server_env=env
    ).start()
    repo = build_repo(tmp_path / "ws")
    lsp.repo = repo  # type: ignore[attr-defined]
    options = {
        "dataDir": str(tmp_path / "data"),
        "ask": {"llm": "openai", "url": stand_in.url, "model": "stand-in", "maxSources": 3},
    }
    await lsp.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=repo.root.as_uri(),
            initialization_options=options,
        )
    )
    await wait_until_indexed(lsp)
    yield lsp
    await lsp.shutdown_session()


@pytest.mark.asyncio
async def test_ask_answers_with_citations_into_the_workspace(
    client: LanguageClient, stand_in: ChatStandIn
) -> None:
    result = await command(client, "mochi.ask", QUESTION)
    (request,) = stand_in.requests
    sent = sources_in(request)
    assert sent and len(sent) <= 3 and sent[0][1] == "geometry/registry.py"
    assert result["question"] == QUESTION and result["model"].startswith("stand-in at ")
    assert result["answer"].startswith("The answer starts in geometry/registry.py [geometry/")
    assert [c["how"] for c in result["citations"]].count("cited") == 2
    assert "attributed" in {c["how"] for c in result["citations"]}
    root = client.repo.root  # type: ignore[attr-defined]
    for citation in result["citations"]:
        assert any(p == citation["path"] and a <= citation["line"] <= b for _, p, a, b in sent)
        assert citation["uri"] == (root / citation["path"]).as_uri()
    assert [s["path"] for s in result["sources"]] == [p for _, p, _, _ in sent]
    assert result["rejected"] == ["nowhere/else.py:999"]

    # the filters of mochi.search narrow the sources
    stand_in.requests.clear()
    only = await command(client, "mochi.ask", QUESTION, {"filters": {"glob": "app/**"}})
    assert {s["path"] for s in only["sources"]} == {"app/main.py"}

    # the code action is offered over a selection only (its command: the unit test below;
    # lsprotocol's client reads a CodeAction with a command as a Command)
    uri = (root / "app" / "main.py").as_uri()
    actions = await client.text_document_code_action_async(selection_params(uri, (0, 0), (1, 0)))
    assert ASK_SELECTION in {a.title for a in actions or []}
    nothing = await client.text_document_code_action_async(selection_params(uri, (0, 0), (0, 0)))
    assert ASK_SELECTION not in {a.title for a in nothing or []}


@pytest.mark.asyncio
async def test_ask_with_the_local_model(client: LanguageClient) -> None:
    result = await command(client, "mochi.ask", QUESTION, {"llm": "local", "maxSources": 2})
    assert result["model"] == "the local model (fake-model)"
    assert len(result["sources"]) <= 2
    (citation,) = result["citations"]  # the stand-in model says "value + 1": attributed
    assert citation["how"] == "attributed"
    assert result["answer"] == f"value + 1 [{citation['path']}:{citation['line']} (attributed)]"


@pytest.mark.asyncio
async def test_bad_arguments_and_no_llm_are_named(client: LanguageClient) -> None:
    with pytest.raises(Exception, match="argument 1 \\(question\\) is empty"):
        await command(client, "mochi.ask", "  ")
    with pytest.raises(Exception, match=r"unknown mochi\.ask option 'model'"):
        await command(client, "mochi.ask", QUESTION, {"model": "x"})
    with pytest.raises(Exception, match="no LLM is configured for ask: set \\[ask\\] llm"):
        await command(client, "mochi.ask", QUESTION, {"llm": ""})
    status = await command(client, "mochi.status")
    assert status["index"]["chunks"] > 0  # the server keeps serving


@pytest.mark.asyncio
async def test_cancel_request_stops_the_answer(
    client: LanguageClient, stand_in: ChatStandIn
) -> None:
    stand_in.answer = lambda request: "word " * 400
    stand_in.delay_per_piece = 0.05  # 20 s in all
    pending = client.protocol.send_request(
        types.WORKSPACE_EXECUTE_COMMAND,
        types.ExecuteCommandParams(command="mochi.ask", arguments=[QUESTION]),
        msg_id="ask-me",
    )
    end = time.monotonic() + 10
    while not stand_in.requests and time.monotonic() < end:
        await asyncio.sleep(0.05)
    assert stand_in.requests, "the question never reached the LLM"
    started = time.monotonic()
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="ask-me"))
    with pytest.raises(Exception, match=r"(?i)cancel"):
        await asyncio.wrap_future(pending)
    assert await asyncio.to_thread(stand_in.cancelled.wait, 10)  # the server hung up
    assert time.monotonic() - started < 10
    stand_in.answer, stand_in.delay_per_piece = (lambda request: "Done [1].", 0.0)
    again = await command(client, "mochi.ask", QUESTION)
    assert [c["how"] for c in again["citations"]] == ["cited"]


def selection_params(uri: str, start: tuple[int, int], end: tuple[int, int]) -> Any:
    return types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=types.Range(types.Position(*start), types.Position(*end)),
        context=types.CodeActionContext(diagnostics=[]),
    )


def test_ask_about_this_selection_code_action(tmp_path: Path) -> None:
    root = tmp_path.resolve()
    uri = (root / "app" / "main.py").as_uri()
    workspace = Workspace(root.as_uri())
    text = "def add(a, b):\n    return a + b\n"
    workspace.put_text_document(types.TextDocumentItem(uri, "python", 1, text))
    state = SimpleNamespace(root=root, config=MochiConfig(), relative=lambda p: "app/main.py")
    ls: Any = SimpleNamespace(workspace=workspace, state=state)

    (action,) = ask_code_actions(ls, selection_params(uri, (0, 4), (1, 16)))
    assert action.title == ASK_SELECTION and action.command is not None
    assert action.command.command == "mochi.ask"
    assert action.command.arguments == [
        "Explain this code from app/main.py:1:\n```\nadd(a, b):\n    return a + b\n```"
    ]
    assert ask_code_actions(ls, selection_params(uri, (1, 3), (1, 3))) == []  # empty
    assert ask_code_actions(ls, selection_params(uri, (1, 0), (1, 4))) == []  # only spaces
    assert ask_code_actions(ls, selection_params(uri, (9, 0), (9, 4))) == []  # past the end
    other = (root / "missing.py").as_uri()
    assert ask_code_actions(ls, selection_params(other, (0, 0), (0, 3))) == []
