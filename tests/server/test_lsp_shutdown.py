"""The end of a session as the LSP spec has it: requests after `shutdown` get -32600,
`exit` ends the process (0 after `shutdown`, 1 without) even while stdin stays open
or a training job is being followed, and the TCP transport reads frames as stdio does.

Real `mochi serve` processes, without a workspace (nothing to index, no model) but for
the training test (an empty project folder; a live daemon whose job never ends)."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from live_daemon import serve_daemon
from lsp_fixtures import SERVER_COMMAND
from ports import free_port
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


def test_exit_is_prompt_while_a_training_job_is_followed(tmp_path: Path) -> None:
    """The editor closes while the daemon trains (minutes, usually): the server's job
    follower must not keep the process alive until the job ends."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text("[project]\nname = 'p'\n", encoding="utf-8")
    with serve_daemon(tmp_path / "daemon") as daemon:
        lsp = RawLspServer(ENV)
        try:
            params = initialize_params(tmp_path / "data")
            params["rootUri"] = project.as_uri()
            params["initializationOptions"]["trainer"] = {"url": daemon.url, "token": daemon.token}
            assert "result" in lsp.call(1, "initialize", params)
            lsp.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
            train = {"command": "mochi.train", "arguments": ["default"]}
            job = lsp.call(2, "workspace/executeCommand", train)["result"]
            deadline = time.monotonic() + 30
            while daemon.parts.store.get(job).state.value != "running":
                assert time.monotonic() < deadline, "the job never started"
                time.sleep(0.05)
            time.sleep(0.5)  # the server is now reading the job's event stream
            assert lsp.call(3, "shutdown")["result"] is None
            lsp.send(EXIT)
            assert lsp.exit_code(timeout=10) == 0
            assert daemon.parts.store.get(job).state.value == "running"  # not our business
        finally:
            lsp.close()


def test_without_a_workspace_folder_the_user_is_told_and_train_says_so(tmp_path: Path) -> None:
    lsp = RawLspServer(ENV)
    try:
        assert "result" in lsp.call(1, "initialize", initialize_params(tmp_path))
        lsp.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
        told = lsp.wait_for(lambda m: m.get("method") == "window/showMessage")
        assert "no workspace folder, so nothing is indexed" in told["params"]["message"]
        train = {"command": "mochi.train", "arguments": ["default"]}
        error = lsp.call(2, "workspace/executeCommand", train)["error"]
        assert error["code"] == -32602 and "workspace folder" in error["message"]
        assert lsp.call(3, "shutdown")["result"] is None
        lsp.send(EXIT)
        assert lsp.exit_code() == 0
    finally:
        lsp.close()


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
