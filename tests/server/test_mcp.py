"""`mochi mcp` as an agent reaches it: a real process, spoken to by the MCP SDK's stdio
client, over a real git repository indexed with the real default embedding model."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from chat_stand_in import ChatStandIn
from geometry_sample import GEOMETRY
from git_repo import GitRepo
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp_calls import call_tool, status_of, text_of
from mcp_types import CallToolResult
from mochi_cli import mochi
from ports import free_port

from mochi.rag.index.lock import IndexLock
from mochi.rag.paths import index_dir

REPORT = '''"""Printed reports."""

from pkg.geometry import circle_area


def report(radius):
    area = circle_area(radius)
    return f"area {area:.2f}"
'''
STARTUP_S = 120


@pytest.fixture
def chat() -> Iterator[ChatStandIn]:
    """The LLM `ask` is configured with: an OpenAI-compatible chat endpoint that cites."""
    stand_in = ChatStandIn().start()
    yield stand_in
    stand_in.stop()


@pytest.fixture
def env(tmp_path: Path, chat: ChatStandIn) -> dict[str, str]:
    return {
        **os.environ,
        "XDG_DATA_HOME": str(tmp_path / "xdg"),
        "HF_HUB_OFFLINE": "1",
        "MOCHI_ASK__LLM": "openai",
        "MOCHI_ASK__URL": chat.url,
        "MOCHI_ASK__MODEL": "stand-in",
    }


@pytest.fixture
def workspace(git_repo: GitRepo) -> GitRepo:
    git_repo.write("pkg/geometry.py", GEOMETRY)
    git_repo.write("app/report.py", REPORT)
    git_repo.commit("Add geometry and reports")
    return git_repo


def server(root: Path, env: dict[str, str]) -> StdioServerParameters:
    args = ["-m", "mochi.server.cli.main", "mcp", "-w", str(root)]
    return StdioServerParameters(command=sys.executable, args=args, env=env)


async def call(session: ClientSession, tool: str, **arguments: Any) -> str:
    return text_of(await call_tool(session, tool, **arguments))


async def agent_session(root: Path, env: dict[str, str], chat: ChatStandIn) -> dict[str, Any]:
    with anyio.fail_after(STARTUP_S):
        async with (
            stdio_client(server(root, env)) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            tools = {t.name for t in (await session.list_tools()).tools}
            assert tools == {
                "search_code",
                "context_for",
                "explain_symbol",
                "rank_candidates",
                "check_conventions",
                "ask",
            }

            found = await call(session, "search_code", query="compute the area of a circle")
            assert found.splitlines()[0].startswith("1. pkg/geometry.py:6 circle_area"), found
            assert "def circle_area(radius):" in found

            # At the return line of report(): the call to circle_area is above the cursor.
            context = await call(session, "context_for", path="app/report.py", line=8)
            assert "# pkg/geometry.py:6 (circle_area)\ndef circle_area(radius):" in context
            assert "# Related code from this repository:" in context
            assert "app/report.py:" not in context.split("\n\n", 1)[1]  # not its own file

            by_task = await call(session, "context_for", task="read key=value config lines")
            assert "pkg/geometry.py:11 (parse_config)" in by_task

            explained = await call(session, "explain_symbol", name="circle_area")
            assert "function in `pkg/geometry.py:6`" in explained
            assert '"""Area of a circle."""' in explained
            assert "`app/report.py:" in explained  # a usage

            outside = await session.call_tool("context_for", {"path": "../x.py", "line": 1})
            assert isinstance(outside, CallToolResult) and outside.is_error
            assert "outside the workspace" in text_of(outside)

            answered = await call(session, "ask", question="How is a circle's area computed?")
            assert "[pkg/geometry.py:6]" in answered, answered  # the LLM's citation, checked
            assert "nowhere/else.py" not in answered  # a citation outside the sources: out
            assert f"stand-in at {chat.url} from these sources:\n[1] pkg/geometry.py:6-" in answered

            return await status_of(session)


@pytest.mark.slow
def test_agent_searches_gets_context_and_explains(
    workspace: GitRepo, env: dict[str, str], chat: ChatStandIn
) -> None:
    indexed = mochi("index", str(workspace.root), "--json", env=env)
    assert indexed.returncode == 0, indexed.stderr
    held = json.loads(indexed.stdout)["status"]
    status = anyio.run(agent_session, workspace.root, env, chat)
    assert len(chat.requests) == 1  # ask reached the configured LLM once
    assert (status["documents"], status["chunks"]) == (held["documents"], held["chunks"])
    assert status["chunks"] > 0
    assert status["mode"] == "local"  # opened by mochi mcp itself: no server runs
    assert status["model"]["loaded"] is False  # only the ranking tools load it

    port = free_port()
    command = [sys.executable, "-m", "mochi.server.cli.main", "mcp", "-w", str(workspace.root)]
    served = subprocess.Popen([*command, "--http", str(port)], env=env, stdout=subprocess.PIPE)
    try:
        wait_listening(port, served)
        found = anyio.run(http_search, f"http://127.0.0.1:{port}/mcp")
    finally:
        served.terminate()
        served.wait(timeout=30)
    assert found.startswith("1. pkg/geometry.py:6 circle_area"), found


def wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    """Until the process has loaded the model and accepts connections."""
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline and process.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"mochi mcp --http {port} never listened (exit {process.poll()})")


async def http_search(url: str) -> str:
    with anyio.fail_after(STARTUP_S):
        async with (
            streamable_http_client(url) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            return await call(session, "search_code", query="area of a circle", limit=1)


@pytest.mark.slow
def test_index_held_by_another_process_is_a_clear_error(
    workspace: GitRepo, env: dict[str, str], tmp_path: Path
) -> None:
    lock = IndexLock(index_dir(tmp_path / "xdg" / "mochi", workspace.root) / "lock")
    lock.acquire(str(workspace.root))
    try:
        done = subprocess.run(
            [sys.executable, "-m", "mochi.server.cli.main", "mcp", "-w", str(workspace.root)],
            input="",
            capture_output=True,
            text=True,
            env=env,
            timeout=STARTUP_S,
        )
        assert done.returncode == 3, done.stderr
        assert f"pid {os.getpid()}" in done.stderr
        assert done.stdout == ""  # nothing but the protocol may go to stdout

        async def connect() -> None:
            with anyio.fail_after(STARTUP_S):
                params = server(workspace.root, env)
                async with (
                    stdio_client(params) as (read, write),
                    ClientSession(read, write) as session,
                ):
                    await session.initialize()

        # The SDK's client sees the process end: an error at once, not a hang.
        with pytest.raises(Exception) as failed:
            anyio.run(connect)
        assert "Connection closed" in repr(failed.value)
    finally:
        lock.release()


async def ranked(root: Path, env: dict[str, str], arguments: dict[str, Any]) -> dict[str, Any]:
    with anyio.fail_after(STARTUP_S * 2):
        async with (
            stdio_client(server(root, env)) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            result = await call_tool(session, "rank_candidates", **arguments)
            assert result.structured_content is not None
            checked = await call_tool(session, "check_conventions", path="app/report.py")
            status = await status_of(session)
            conventions = checked.structured_content
            return {**result.structured_content, "status": status, "conventions": conventions}


OWN_CODE = '\n    return f"area {area:.2f}"\n'  # what app/report.py says after line 7
JUNK = "\n    zq!! ~~ %% @@ qq qq\n"


@pytest.mark.slow
@pytest.mark.model
def test_rank_candidates_prefers_the_repositorys_own_code(
    workspace: GitRepo, env: dict[str, str], model_data_dir: Path
) -> None:
    """Local mode: mochi mcp loads the model itself, on first use (the real SmolLM2)."""
    env = {**env, "XDG_DATA_HOME": str(model_data_dir.parent)}
    indexed = mochi("index", str(workspace.root), env=env)
    assert indexed.returncode == 0, indexed.stderr
    at_cursor = {"candidates": [JUNK, OWN_CODE], "path": "app/report.py", "line": 7}
    answer = anyio.run(ranked, workspace.root, env, at_cursor)
    assert [s["candidate"] for s in answer["scores"]] == [OWN_CODE, JUNK]
    best, worst = answer["scores"]
    assert best["mean_logprob"] > worst["mean_logprob"]
    assert best["total_logprob"] == pytest.approx(best["mean_logprob"] * best["tokens"])
    assert answer["adapter"] is None  # no expert trained: the base model
    assert answer["status"]["mode"] == "local" and answer["status"]["model"]["loaded"]
    # the same model measured the file against the repository's norms (built, cached)
    assert answer["conventions"]["checked"] == ["app/report.py"]
    assert answer["conventions"]["surprise"] == ""
