"""The end of a session as the LSP spec has it: requests after `shutdown` get -32600,
`exit` ends the process (0 after `shutdown`, 1 without) even while stdin stays open,
and the TCP transport reads frames as stdio does.

Real `mochi serve` processes, without a workspace (nothing to index, no model)."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from lsp_fixtures import SERVER_COMMAND
from raw_lsp import RawLspServer, frame, request

pytestmark = pytest.mark.slow

ENV = {**os.environ, "HF_HUB_OFFLINE": "1"}
EXIT = {"jsonrpc": "2.0", "method": "exit"}


def initialize_params(data_dir: Path) -> dict[str, Any]:
    options = {"dataDir": str(data_dir)}  # no workspace: nothing to index, no model
    params = {"processId": None, "rootUri": None, "capabilities": {}}
    return {**params, "initializationOptions": options}


def test_requests_after_shutdown_are_refused_and_exit_ends_with_0(tmp_path: Path) -> None:
    lsp = RawLspServer(ENV)
    try:
        assert "result" in lsp.call(1, "initialize", initialize_params(tmp_path))
        assert lsp.call(2, "shutdown") == {"jsonrpc": "2.0", "id": 2, "result": None}
        at = {"textDocument": {"uri": "file:///a.py"}, "position": {"line": 0, "character": 0}}
        for request_id, method, params in [
            (3, "textDocument/hover", at),
            (4, "workspace/executeCommand", {"command": "mochi.status"}),
            (5, "shutdown", None),
            (6, "textDocument/hover", "not even params"),
        ]:
            error = lsp.call(request_id, method, params)["error"]
            assert error == {"code": -32600, "message": "the server is shutting down"}
        lsp.send(EXIT)
        assert lsp.exit_code() == 0
        assert lsp.stray is None
    finally:
        lsp.close()


def test_exit_without_shutdown_ends_with_1(tmp_path: Path) -> None:
    lsp = RawLspServer(ENV)
    try:
        assert "result" in lsp.call(1, "initialize", initialize_params(tmp_path))
        lsp.send(EXIT)
        assert lsp.exit_code() == 1
    finally:
        lsp.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_tcp_reads_past_a_bad_frame_too(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen([*SERVER_COMMAND, "--tcp", f"127.0.0.1:{port}"], env=ENV)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = socket.create_connection(("127.0.0.1", port), timeout=60)
                break
            except ConnectionRefusedError:
                assert time.monotonic() < deadline and proc.poll() is None, "no TCP server"
                time.sleep(0.2)
        with conn:
            bad = b"content-length: twelve\r\n\r\n{}"
            conn.sendall(bad + frame(request(1, "initialize", initialize_params(tmp_path))))
            received = b""
            while b'"id": 1' not in received:
                chunk = conn.recv(65536)
                assert chunk, f"the connection closed: {received!r}"
                received += chunk
            assert b'"code": -32700' in received and b"twelve" in received
            conn.sendall(frame(request(2, "shutdown")) + frame(EXIT))
            assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
