"""What editors (and buggy clients) really send: lone surrogates, documents that were never
opened or are not files, positions past the end of a document, code actions resolved
without data, a function that already has a docstring, a name defined in two files, and
trainer settings changed from the editor.

One `mochi serve` per module (real pytest-lsp client, a real git repository, the tiny
random Llama: the model is not under test here)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from live_daemon import serve_daemon
from lsp_fixtures import MAIN_PY, SERVER_COMMAND, build_repo, command, inline, open_doc
from lsp_fixtures import wait_until_indexed as indexed
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
REQUEST_FAILED = -32803

API_PY = '''"""A tiny HTTP helper."""


def request(method, url):
    """Send one request and return its status."""
    return send(method, url)


def send(method, url):
    return 200
'''

# A second `request`, a method that says "request" so often that a plain search for the
# name ranks it first.
SESSION_PY = '''"""Sessions: each request goes through request hooks."""


class Session:
    """Send a request, request after request."""

    def request(self, request_method, request_url):
        """Send the request; every request runs the request hooks."""
        request = (request_method, request_url)
        return request
'''

CALLS_PY = """from net.api import request


def fetch(url):
    return request("GET", url)
"""

DOCUMENTED_PY = '''def scale(value, factor):
    """Scale `value` by `factor`."""
    return value * factor
'''


def settings(data_dir: Path, model: Path, **extra: Any) -> dict[str, Any]:
    return {"dataDir": str(data_dir), "model": {"name": str(model), "dtype": "float32"}, **extra}


@pytest_lsp.fixture(
    scope="module", config=ClientServerConfig(server_command=SERVER_COMMAND, server_env=ENV)
)
async def client(
    lsp_client: LanguageClient, tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path
) -> AsyncIterator[None]:
    folder = tmp_path_factory.mktemp("edge-inputs")
    repo = build_repo(folder / "ws")
    repo.write("net/__init__.py", "")
    repo.write("net/api.py", API_PY)
    repo.write("net/session.py", SESSION_PY)
    repo.write("app/calls.py", CALLS_PY)
    repo.write("app/documented.py", DOCUMENTED_PY)
    repo.commit("Add the HTTP helpers")
    lsp_client.repo = repo  # type: ignore[attr-defined]
    lsp_client.options = settings(folder / "data", tiny_model_dir)  # type: ignore[attr-defined]
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=repo.root.as_uri(),
            initialization_options=lsp_client.options,  # type: ignore[attr-defined]
        )
    )
    await indexed(lsp_client)
    yield
    await lsp_client.shutdown_session()


def doc_id(uri: str) -> types.TextDocumentIdentifier:
    return types.TextDocumentIdentifier(uri=uri)


async def hover(client: LanguageClient, uri: str, line: int, character: int) -> Any:
    return await client.text_document_hover_async(
        types.HoverParams(text_document=doc_id(uri), position=types.Position(line, character))
    )


async def code_actions(client: LanguageClient, uri: str, line: int) -> Any:
    at = types.Position(line, 0)
    return await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=doc_id(uri),
            range=types.Range(start=at, end=at),
            context=types.CodeActionContext(diagnostics=[]),
        )
    )


async def completion(client: LanguageClient, uri: str, at: types.Position) -> Any:
    return await client.text_document_completion_async(
        types.CompletionParams(text_document=doc_id(uri), position=at)
    )


def open_untitled(client: LanguageClient, uri: str, text: str) -> None:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="python", version=1, text=text
            )
        )
    )


def inside(text: str, position: types.Position) -> bool:
    lines = text.split("\n")
    return position.line < len(lines) and position.character <= len(lines[position.line])


def apply(text: str, edits: list[types.TextEdit]) -> str:
    """`text` with `edits` applied (the last edit first, as editors do)."""
    lines = text.split("\n")

    def offset(p: types.Position) -> int:
        return sum(len(line) + 1 for line in lines[: p.line]) + p.character

    for edit in sorted(edits, key=lambda e: offset(e.range.start), reverse=True):
        text = text[: offset(edit.range.start)] + edit.new_text + text[offset(edit.range.end) :]
    return text


async def test_lone_surrogates_are_replaced_and_the_server_keeps_working(
    client: LanguageClient,
) -> None:
    text = "def add(a, b):\n    return a + b  # \ud800\n\n\ndef twice(x):\n    return "
    uri = open_doc(client, "app/odd.py", text)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(types.Position(2, 0), types.Position(2, 0)),
                    text="# \udc00\n",
                )
            ],
        )
    )
    end = types.Position(6, len("    return "))
    assert (await inline(client, uri, end)) is not None  # an answer, not an error
    assert (await completion(client, uri, end)) is not None
    titles = [a.title for a in await code_actions(client, uri, 0)]
    assert "mochi: Explain `add`" in titles
    await hover(client, uri, 0, 5)  # answers (a hover or null), no error

    symbols = await client.workspace_symbol_async(
        types.WorkspaceSymbolParams(query="register a shape factory \ud800")
    )
    assert "register_shape_factory" in {s.name for s in symbols}
    hits = await command(client, "mochi.search", "register a shape factory \udfff", 3)
    assert any(hit["uri"].endswith("geometry/registry.py") for hit in hits), hits
    assert (await command(client, "mochi.status"))["index"]["chunks"] > 0


async def test_a_document_never_opened_and_missing_gives_no_result(
    client: LanguageClient,
) -> None:
    repo_root: Path = client.repo.root  # type: ignore[attr-defined]
    missing = (repo_root / "app" / "gone.py").as_uri()
    assert await hover(client, missing, 0, 0) is None
    assert not await code_actions(client, missing, 0)
    assert not (await inline(client, missing, types.Position(0, 0))).items
    for name in ("mochi.explain", "mochi.findSimilar"):
        with pytest.raises(JsonRpcException) as raised:
            await command(client, name, missing, 0)
        assert raised.value.code == REQUEST_FAILED
        assert "app/gone.py" in str(raised.value) and "FileNotFoundError" not in str(raised.value)


async def test_untitled_documents_use_their_open_text_only(client: LanguageClient) -> None:
    open_untitled(client, "untitled:Untitled-1", "def twice(x):\n    return 2 * x\n")
    explanation = await command(client, "mochi.explain", "untitled:Untitled-1", 0)
    assert explanation.startswith("`twice`")
    titles = [a.title for a in await code_actions(client, "untitled:Untitled-1", 1)]
    assert "mochi: Explain `twice`" in titles
    # Never opened: nothing to read (in particular not ./Untitled-2 in the server's cwd).
    with pytest.raises(JsonRpcException) as raised:
        await command(client, "mochi.explain", "untitled:Untitled-2", 0)
    assert raised.value.code == REQUEST_FAILED and "not open" in str(raised.value)


async def test_positions_past_the_end_never_give_a_range_outside_the_document(
    client: LanguageClient,
) -> None:
    text = "\n".join([MAIN_PY.rstrip("\n")] + [f"# line {i}" for i in range(6)]) + "\n"
    assert len(text.split("\n")) >= 20
    uri = open_doc(client, "app/long.py", text)
    for at in (types.Position(1_000_000, 0), types.Position(3, 500), types.Position(4, 10_000)):
        for item in (await inline(client, uri, at)).items:
            assert inside(text, item.range.start) and inside(text, item.range.end), (at, item)
        for entry in (await completion(client, uri, at)).items:
            edit = entry.text_edit
            assert inside(text, edit.range.start) and inside(text, edit.range.end), (at, edit)
    assert await hover(client, uri, 1_000_000, 3) is None


async def test_resolving_explain_and_find_similar_returns_them_unchanged(
    client: LanguageClient,
) -> None:
    uri = open_doc(client, "app/main.py", MAIN_PY)
    args = [uri, 3]
    for title, name in (("Explain", "mochi.explain"), ("Find similar", "mochi.findSimilar")):
        action = types.CodeAction(
            title=f"mochi: {title} `add`",
            kind=types.CodeActionKind.Empty,
            command=types.Command(title, name, arguments=args),
        )
        resolved = await client.code_action_resolve_async(action)
        assert resolved.title == action.title and resolved.command.command == name


async def test_generate_docstring_replaces_an_existing_docstring(client: LanguageClient) -> None:
    uri = open_doc(client, "app/documented.py", DOCUMENTED_PY)
    actions = await code_actions(client, uri, 2)
    docstring = next(a for a in actions if a.title.startswith("mochi: Generate docstring"))
    resolved = await client.code_action_resolve_async(docstring)
    result = apply(DOCUMENTED_PY, list(resolved.edit.changes[uri]))
    assert result.count('"""') == 2, result  # one docstring, not two
    lines = result.split("\n")
    assert lines[0] == "def scale(value, factor):" and lines[1].startswith('    """')
    assert lines[2] == "    return value * factor"


async def test_hover_shows_the_definition_visible_from_the_file(client: LanguageClient) -> None:
    repo_root: Path = client.repo.root  # type: ignore[attr-defined]
    # At the definition itself (as `mochi demo` hovers it).
    api = open_doc(client, "net/api.py", (repo_root / "net/api.py").read_text())
    at_def = await hover(client, api, 3, 6)
    assert "function in `net/api.py:4`" in at_def.contents.value, at_def.contents.value
    # A call of the imported function.
    calls = open_doc(client, "app/calls.py", CALLS_PY)
    at_call = await hover(client, calls, 4, 12)
    assert "function in `net/api.py:4`" in at_call.contents.value, at_call.contents.value
    # Inside the class, its own method.
    session = open_doc(client, "net/session.py", SESSION_PY)
    at_method = await hover(client, session, 6, 9)
    assert "method in `net/session.py:7`" in at_method.contents.value
    # A module attribute: `registry.build_shape` resolves through `import ... as registry`.
    main = open_doc(client, "app/main.py", MAIN_PY)
    line = MAIN_PY.split("\n").index('    shape = registry.build_shape("circle", 2)')
    at_attr = await hover(client, main, line, 25)
    assert "geometry/registry.py" in at_attr.contents.value


async def test_trainer_settings_from_the_editor_take_effect(
    client: LanguageClient, tmp_path: Path
) -> None:
    options: dict[str, Any] = client.options  # type: ignore[attr-defined]
    assert (await command(client, "mochi.status"))["trainer"] == "not configured"
    with serve_daemon(tmp_path / "daemon") as daemon:
        for token, state in (("wrong", "wrong token"), (daemon.token, "ready")):
            trainer = {"url": daemon.url, "token": token}
            client.workspace_did_change_configuration(
                types.DidChangeConfigurationParams(
                    settings={"mochi": {**options, "trainer": trainer}}
                )
            )
            await asyncio.sleep(0.5)
            status = await command(client, "mochi.status")
            assert (status["trainer"], status["trainerUrl"]) == (state, daemon.url)
        job = await command(client, "mochi.train", "default")
        assert daemon.parts.store.get(job).id == job  # submitted to that daemon
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"mochi": options})
    )
    await asyncio.sleep(0.5)
    status = await command(client, "mochi.status")
    assert (status["trainer"], status["trainerUrl"]) == ("not configured", None)
