"""The language server's Prometheus metrics, through a real LSP client (pytest-lsp) and
a real scrape of /metrics: what the client asked is what is counted. The model is a
stand-in (fake_model_server.py: the metrics are under test, not the suggestions); the
index is real (Qdrant Edge, the hashing embedder) on a real git repository."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from lsp_fixtures import MAIN_PY, build_repo, command, end_of, inline, open_doc, wait_until_indexed
from lsprotocol import types
from ports import free_port
from prometheus_client.parser import text_string_to_metric_families
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

SERVER = [sys.executable, str(Path(__file__).with_name("fake_model_server.py"))]
SLOW_MARKER = "SLOW_MARKER"  # fake_model_server.py waits on a prompt holding it
HOVER_LINE = MAIN_PY.split("\n").index('    shape = registry.build_shape("circle", 2)')
HAS_PROC = Path("/proc/self/fd").is_dir()

pytestmark = pytest.mark.slow  # each test starts a server and indexes a repository

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Every sample of a text exposition, by name and labels."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """A sample's value; 0 when there is no such sample (a counter not incremented yet)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def answered(samples: Samples, method: str, outcome: str) -> float:
    return value(samples, "mochi_lsp_requests_total", method=method, outcome=outcome)


def requests(samples: Samples, method: str) -> float:
    """Answers to `method`, all outcomes together."""
    return sum(
        v
        for (name, labels), v in samples.items()
        if name == "mochi_lsp_requests_total" and ("method", method) in labels
    )


def scrape_text(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        body: bytes = response.read()
        return body.decode()


async def scrape(port: int, timeout: float = 20) -> Samples:
    """GET /metrics, waiting for the endpoint to come up (it starts on `initialized`)."""
    end = time.monotonic() + timeout
    while True:
        try:
            return parse(await asyncio.to_thread(scrape_text, port))
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > end:
                raise
            await asyncio.sleep(0.1)


def listening_ports(pid: int) -> set[int]:
    """The TCP ports process `pid` listens on (Linux: its socket fds in /proc/net/tcp*)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target.removeprefix("socket:[").removesuffix("]"))
    ports = set()
    for table in ("tcp", "tcp6"):
        path = Path(f"/proc/{pid}/net/{table}")
        for row in path.read_text().splitlines()[1:] if path.exists() else []:
            fields = row.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def server_pid(client: LanguageClient) -> int:
    process: Any = client._server  # pytest-lsp's handle on the server process
    pid: int = process.pid
    return pid


async def start(tmp_path: Path, options: dict[str, Any]) -> LanguageClient:
    """A server on a fresh workspace, indexed; no MOCHI_* variable nor user config of
    the machine's leaks in (a metrics port set there would change what is tested)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOCHI_")}
    env |= {"XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_DATA_HOME": str(tmp_path / "data")}
    client: LanguageClient = await ClientServerConfig(  # type: ignore[assignment]
        server_command=SERVER, server_env=env
    ).start()
    repo = build_repo(tmp_path / "ws", MAIN_PY + "\n\ndef bump(value):\n    return ")
    client.repo = repo  # type: ignore[attr-defined]
    await client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=repo.root.as_uri(),
            initialization_options={"dataDir": str(tmp_path / "data"), **options},
        )
    )
    await wait_until_indexed(client)
    return client


async def complete(client: LanguageClient, uri: str, at: types.Position) -> Any:
    return await client.text_document_completion_async(
        types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=at)
    )


async def hover(client: LanguageClient, uri: str, line: int, character: int) -> Any:
    return await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=line, character=character),
        )
    )


async def cancelled_inline_completion(client: LanguageClient, uri: str) -> None:
    """An inline completion the model is still working on when the client cancels it."""
    pending = client.protocol.send_request(
        types.TEXT_DOCUMENT_INLINE_COMPLETION,
        types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=1, character=0),
            context=types.InlineCompletionContext(
                trigger_kind=types.InlineCompletionTriggerKind.Invoked
            ),
        ),
        msg_id="cancel-me",
    )
    await asyncio.sleep(0.5)  # the request reaches the model
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="cancel-me"))
    with pytest.raises(Exception, match=r"(?i)cancel"):
        await asyncio.wrap_future(pending)


async def closed(port: int, timeout: float = 10) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            await asyncio.to_thread(scrape_text, port)
        except (urllib.error.URLError, ConnectionError):
            return True
        await asyncio.sleep(0.1)
    return False


@pytest.mark.asyncio
async def test_the_metrics_count_what_the_client_asked(tmp_path: Path) -> None:
    port = free_port()
    client = await start(tmp_path, {"server": {"metricsPort": port}})
    try:
        text = MAIN_PY + "\n\ndef bump(value):\n    return "
        uri = open_doc(client, "app/main.py", text)
        at = end_of(text)
        for _ in range(3):
            assert len((await complete(client, uri, at)).items) == 1
        for _ in range(2):
            assert len((await inline(client, uri, at)).items) == 1
        assert await hover(client, uri, HOVER_LINE, 25) is not None  # build_shape
        assert await hover(client, uri, 1, 0) is None  # an empty line
        slow = open_doc(client, "app/slow.py", f"# {SLOW_MARKER}\n")
        await cancelled_inline_completion(client, slow)
        status = await command(client, "mochi.status")

        samples = await scrape(port)
        completion, inline_completion = "textDocument/completion", "textDocument/inlineCompletion"
        assert answered(samples, completion, "ok") == 3
        assert requests(samples, completion) == 3
        duration = "mochi_lsp_request_duration_seconds"
        assert value(samples, f"{duration}_count", method=completion) == 3
        assert value(samples, f"{duration}_bucket", method=completion, le="+Inf") == 3
        assert value(samples, f"{duration}_sum", method=completion) > 0
        assert answered(samples, inline_completion, "ok") == 2
        assert answered(samples, inline_completion, "cancelled") == 1
        assert value(samples, f"{duration}_count", method=inline_completion) == 3
        assert answered(samples, "textDocument/hover", "ok") == 1
        assert answered(samples, "textDocument/hover", "empty") == 1
        assert value(samples, f"{duration}_count", method="textDocument/hover") == 2
        assert answered(samples, "initialize", "ok") == 1

        # What the completions came to, and their stages as mochi.timings has them.
        assert value(samples, "mochi_completions_total", result="suggested") == 5
        assert value(samples, "mochi_completions_total", result="cancelled") == 1
        stage = "mochi_completion_stage_seconds"
        assert value(samples, f"{stage}_count", stage="prefill") == 5
        assert value(samples, f"{stage}_sum", stage="prefill") == pytest.approx(0.1)
        assert value(samples, f"{stage}_sum", stage="decode") == pytest.approx(0.05)
        assert value(samples, f"{stage}_count", stage="retrieval") == 5
        # The stand-in reuses all but the last prompt token after its first prompt.
        assert value(samples, "mochi_prefix_cache_lookups_total", result="miss") == 1
        assert value(samples, "mochi_prefix_cache_lookups_total", result="hit") == 4
        assert value(samples, "mochi_completion_tokens_total", kind="generated") == 15
        prompt = value(samples, "mochi_completion_tokens_total", kind="prompt")
        cached = value(samples, "mochi_completion_tokens_total", kind="cached")
        assert 0 < cached < prompt

        # Read at scrape time: the index, the token memory, the model.
        assert value(samples, "mochi_index_documents") == status["index"]["documents"] > 0
        assert value(samples, "mochi_index_chunks") == status["index"]["chunks"] > 0
        assert value(samples, "mochi_token_memory_tokens") == 0
        assert value(samples, "mochi_model_info", model="fake-model", backend="fake") == 1

        # The same exposition without a port: the mochi.metrics command.
        exposition = parse(await command(client, "mochi.metrics"))
        assert value(exposition, f"{duration}_count", method=completion) == 3
        if HAS_PROC:
            assert listening_ports(server_pid(client)) == {port}

        # Turned off live: the endpoint closes, the server serves on.
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"server": {"metricsPort": 0}})
        )
        assert await closed(port)
        assert len((await complete(client, uri, at)).items) == 1
    finally:
        await client.shutdown_session()


@pytest.mark.asyncio
@pytest.mark.skipif(not HAS_PROC, reason="reads the server's sockets from /proc")
async def test_a_server_with_the_default_settings_opens_no_port(tmp_path: Path) -> None:
    client = await start(tmp_path, {})
    try:
        text = MAIN_PY + "\n\ndef bump(value):\n    return "
        uri = open_doc(client, "app/main.py", text)
        assert len((await complete(client, uri, end_of(text))).items) == 1
        assert listening_ports(server_pid(client)) == set()
        exposition = parse(await command(client, "mochi.metrics"))  # counted all the same
        assert answered(exposition, "textDocument/completion", "ok") == 1
    finally:
        await client.shutdown_session()


@pytest.mark.asyncio
async def test_a_metrics_port_in_use_is_reported_and_the_server_runs_on(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        client = await start(tmp_path, {"server": {"metricsPort": port}})
        try:
            end = time.monotonic() + 20
            while not any("cannot serve metrics" in m.message for m in client.messages):
                assert time.monotonic() < end, f"no warning in {client.messages}"
                await asyncio.sleep(0.1)
            (warning,) = [m for m in client.messages if "cannot serve metrics" in m.message]
            assert warning.type == types.MessageType.Warning
            assert f"127.0.0.1:{port}" in warning.message
            assert "runs on without it" in warning.message
            text = MAIN_PY + "\n\ndef bump(value):\n    return "
            uri = open_doc(client, "app/main.py", text)
            assert len((await complete(client, uri, end_of(text))).items) == 1
        finally:
            await client.shutdown_session()
