"""`mochi mcp` beside a running `mochi serve`: it does not fail on the index lock but
forwards every tool call to the language server, so an agent searches the server's live,
watched index and ranks candidates with the server's loaded model.

A real language server (pytest-lsp client, real embedding model, the tiny random Llama
with a random LoRA adapter as "default") and a real `mochi mcp` process, spoken to by the
MCP SDK's stdio client."""

from __future__ import annotations

import json
import os
import socket
import stat
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
import pytest_lsp
from lsp_fixtures import MAIN_PY, SERVER_COMMAND, build_repo, command, wait_until_indexed
from lsprotocol import types
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp_calls import call_tool as call
from mcp_calls import status_of, text_of
from mcp_types import CallToolResult
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from mochi.rag.paths import index_dir
from mochi.server.generation.scoring import ScoreRequest
from mochi.server.generation.transformers_backend import TransformersGenerator
from mochi.server.generation.types import CancelToken
from mochi.server.mcp.share_wire import encode, read_share_file, share_path, socket_path

pytestmark = [pytest.mark.slow]

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
STARTUP_S = 120
# At the end of `def area_of_square(side):` in app/main.py (line 8).
CURSOR_LINE = 8
OWN_CODE = "\n    return side * side\n"  # what the file itself says next
CANDIDATES = [OWN_CODE, "\n    zq!! ~~ %% @@ qq\n", "\n    return a + b\n"]
# Enough snake_case names of several words for the style to be the repository's norm.
SHAPES = "".join(f"def make_shape_{i}(size):\n    return size * {i}\n\n\n" for i in range(6))
ODD = "def buildCircleShape(radius):\n    return radius\n"
DIFF = (
    "--- /dev/null\n+++ b/app/odd.py\n@@ -0,0 +1,2 @@\n"
    "+def buildCircleShape(radius):\n+    return radius\n"
)


def settings(data: Path, model: Path, adapter: Path) -> str:
    return (
        f'data_dir = "{data}"\n\n[model]\nname = "{model}"\ndtype = "float32"\n\n'
        f'[model.adapters]\ndefault = "{adapter}"\n'
    )


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER_COMMAND, server_env=ENV))
async def client(
    lsp_client: LanguageClient,
    tmp_path: Path,
    tiny_model_dir: Path,
    tiny_adapters: dict[str, Path],
) -> AsyncIterator[None]:
    repo = build_repo(tmp_path / "ws")
    repo.write("geometry/shapes.py", SHAPES)
    repo.commit("Add shape makers")
    # Both processes read the workspace's settings: the same data dir, so the same index.
    repo.write(".mochi.toml", settings(tmp_path / "data", tiny_model_dir, tiny_adapters["alpha"]))
    lsp_client.repo = repo  # type: ignore[attr-defined]
    lsp_client.data = tmp_path / "data"  # type: ignore[attr-defined]
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"), root_uri=repo.root.as_uri()
        )
    )
    await wait_until_indexed(lsp_client)
    yield
    await lsp_client.shutdown_session()
    # The share ends with the index: no file left naming a socket nobody answers on.
    location = index_dir(tmp_path / "data", repo.root.resolve())
    assert not share_path(location).exists() and not socket_path(location).exists()


async def found_first(session: ClientSession, query: str, path: str, timeout: float) -> str:
    """Search until `path` is the first hit (the server re-indexes on its own time)."""
    end = time.monotonic() + timeout
    while True:
        found = text_of(await call(session, "search_code", query=query, limit=3))
        if found.startswith(f"1. {path}:") or time.monotonic() > end:
            return found
        await anyio.sleep(0.5)


def direct_scores(model: Path, adapter: Path, context: str) -> list[float]:
    """Each candidate's mean log-prob computed here, with the same model and adapter."""
    generator = TransformersGenerator(
        str(model), dtype="float32", adapters={"default": str(adapter)}
    )
    try:
        return [
            generator.score(ScoreRequest(c, context, "default"), CancelToken()).mean()
            for c in CANDIDATES
        ]
    finally:
        generator.close()


def raw_request(path: str, message: dict[str, Any]) -> dict[str, Any]:
    with socket.socket(socket.AF_UNIX) as conn:
        conn.settimeout(10)
        conn.connect(path)
        conn.sendall(encode(message))
        with conn.makefile("rb") as reader:
            reply: dict[str, Any] = json.loads(reader.readline())
    return reply


@pytest.mark.asyncio
async def test_mochi_mcp_answers_from_the_running_servers_live_index(
    client: LanguageClient, tiny_model_dir: Path, tiny_adapters: dict[str, Path]
) -> None:
    repo = client.repo  # type: ignore[attr-defined]
    data: Path = client.data  # type: ignore[attr-defined]
    location = index_dir(data, repo.root.resolve())
    share = read_share_file(share_path(location))
    assert share is not None, "the language server shares its index"
    assert stat.S_IMODE(share_path(location).stat().st_mode) == 0o600
    assert str(share.pid) == (location / "lock").read_text().strip()  # the lock's holder

    args = ["-m", "mochi.server.cli.main", "mcp", "-w", str(repo.root)]
    params = StdioServerParameters(command=sys.executable, args=args, env=ENV)
    with anyio.fail_after(STARTUP_S * 2):
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()  # not refused: the lock is the server's, and fine
            tools = {t.name for t in (await session.list_tools()).tools}
            assert {
                "search_code",
                "context_for",
                "explain_symbol",
                "rank_candidates",
                "ask",
            } <= tools

            status = await status_of(session)
            for _ in range(240):  # the server loads its model in the background
                if status["model"]["loaded"] or status["model"]["error"]:
                    break
                await anyio.sleep(0.5)
                status = await status_of(session)
            assert (status["mode"], status["server_pid"]) == ("shared", share.pid)
            assert status["chunks"] > 0 and status["model"]["adapters"] == ["default"]

            found = text_of(
                await call(
                    session, "search_code", query="def register_shape_factory(name, factory)"
                )
            )
            assert found.startswith("1. geometry/registry.py:"), found

            # The live index: a file saved in the editor is found by the agent's search.
            query = "zebra crossing signal light"
            before = text_of(await call(session, "search_code", query=query, limit=3))
            assert "pkg/new_feature.py" not in before
            saved = repo.write(
                "pkg/new_feature.py", "def zebra_crossing_signal(light):\n    return light\n"
            )
            client.text_document_did_save(
                types.DidSaveTextDocumentParams(
                    text_document=types.TextDocumentIdentifier(uri=saved.as_uri())
                )
            )
            after = await found_first(session, query, "pkg/new_feature.py", timeout=90)
            assert after.startswith("1. pkg/new_feature.py:1 zebra_crossing_signal"), after

            # Candidates ranked by the server's model under the adapter completions use.
            ranked = await call(
                session,
                "rank_candidates",
                candidates=CANDIDATES,
                path="app/main.py",
                line=CURSOR_LINE,
            )
            structured = ranked.structured_content
            assert structured is not None
            assert structured["adapter"] == "default"
            assert structured["where"] == f"app/main.py:{CURSOR_LINE}:26"
            assert "scored by adapter 'default'" in text_of(ranked)

            context = "\n".join(MAIN_PY.split("\n")[:CURSOR_LINE])
            expected = direct_scores(tiny_model_dir, tiny_adapters["alpha"], context)
            got = {s["index"]: s["mean_logprob"] for s in structured["scores"]}
            assert [got[i] for i in range(len(CANDIDATES))] == pytest.approx(expected, abs=1e-4)
            order = sorted(range(len(CANDIDATES)), key=lambda i: -expected[i])
            assert [s["index"] for s in structured["scores"]] == order

            # A diff checked against the repository's norms by the server's model.
            repo.write("app/odd.py", ODD)
            checked = await call(session, "check_conventions", diff=DIFF)
            report = checked.structured_content
            assert report is not None
            assert report["checked"] == ["app/odd.py"] and report["surprise"] == ""
            assert report["adapters"] == {"app/odd.py": "default"}
            naming = [f for f in report["findings"] if f["kind"] == "naming"]
            assert [(f["line"], f["column"], f["suggestion"]) for f in naming] == [
                (1, 5, "build_circle_shape")
            ]
            assert "app/odd.py:1:5 [naming]" in text_of(checked)

            # A question answered by the server's own model (ask.llm = "local").
            answered = text_of(
                await call(session, "ask", question="how is a shape factory registered?")
            )
            assert "from these sources:\n[1] geometry/registry.py:" in answered, answered

            empty = await session.call_tool("rank_candidates", {"candidates": [], "prefix": "x"})
            assert isinstance(empty, CallToolResult) and empty.is_error
            assert "candidates is empty" in text_of(empty)

    # The share answers only its token's holder; the language server serves on.
    refused = raw_request(share.socket, {"token": "guess", "method": "index_status", "params": {}})
    assert refused["error"]["kind"] == "unauthorized"
    hello = raw_request(share.socket, {"token": share.token, "method": "hello", "params": {}})
    assert hello["result"]["pid"] == share.pid
    status_now = await command(client, "mochi.status")
    assert status_now["index"]["documents"] >= 5
