"""stdout carries nothing but LSP messages; bad initializationOptions are reported, not fatal.

A raw client: the server is started as editors start it and every byte it
writes to stdout is parsed as Content-Length framed JSON-RPC.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from lsp_fixtures import build_repo


def frame(message: dict[str, Any]) -> bytes:
    body = json.dumps(message).encode()
    return f"Content-Length: {len(body)}\r\n\r\n".encode() + body


def parse_stream(data: bytes) -> list[dict[str, Any]]:
    """Every byte must belong to a well-formed LSP message; raises otherwise."""
    messages = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        assert sep, f"stray bytes on stdout: {data[:200]!r}"
        fields = dict(line.split(b": ", 1) for line in head.split(b"\r\n"))
        length = int(fields[b"Content-Length"])
        messages.append(json.loads(rest[:length]))
        data = rest[length:]
    return messages


def read_all(stream: Any, into: bytearray) -> None:
    while chunk := stream.read1(65536):
        into.extend(chunk)


class StderrReader:
    """Drains stderr in a thread so a chatty server never blocks on a full pipe."""

    def __init__(self, stream: Any) -> None:
        self._data = bytearray()
        self._thread = threading.Thread(target=read_all, args=(stream, self._data), daemon=True)
        self._thread.start()

    def result(self) -> bytes:
        self._thread.join(10)
        return bytes(self._data)


def status_request(request_id: int) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "workspace/executeCommand",
        "params": {"command": "mochi.status", "arguments": []},
    }


def wait_for_reply(received: bytearray, request_id: int, deadline: float) -> dict[str, Any] | None:
    marker = f'"id": {request_id}'.encode()
    while time.monotonic() < deadline:
        if marker in received or f'"id":{request_id}'.encode() in received:
            try:
                messages = parse_stream(bytes(received))
            except (AssertionError, ValueError, KeyError):  # a message still arriving
                messages = []
            for message in messages:
                if message.get("id") == request_id:
                    return message
        time.sleep(0.2)
    return None


@pytest.mark.slow
def test_stdout_is_pure_lsp_and_bad_options_are_reported(tmp_path: Path) -> None:
    repo = build_repo(tmp_path / "ws")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    options = {
        "dataDir": str(tmp_path / "data"),
        "completion": {"maxTokens": -3},  # invalid: reported, defaults used
        "model": {"name": str(tmp_path / "no-such-model")},  # no model: reported
    }
    requests = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "processId": None,
                "rootUri": repo.root.as_uri(),
                "capabilities": {},
                "initializationOptions": options,
            },
        },
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "mochi.server.cli.main", "serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdin is not None and proc.stdout is not None
    for message in requests:
        proc.stdin.write(frame(message))
    proc.stdin.flush()
    # Everything the server writes to stdout, collected as it comes (a thread reads it).
    received = bytearray()
    reader = threading.Thread(target=lambda: read_all(proc.stdout, received), daemon=True)
    reader.start()
    err_reader = StderrReader(proc.stderr)
    # Start-up indexes the repository and tries to load the model: ask for the status
    # until both are done (a fixed wait is flaky on a busy machine).
    deadline = time.monotonic() + 180
    request_id = 100
    while time.monotonic() < deadline:
        request_id += 1
        proc.stdin.write(frame(status_request(request_id)))
        proc.stdin.flush()
        reply = wait_for_reply(received, request_id, deadline)
        result = reply.get("result") or {} if reply else {}
        if result.get("modelError") and (result.get("index") or {}).get("chunks", 0) > 0:
            break
        time.sleep(1)
    for message in (status_request(2), {"jsonrpc": "2.0", "id": 3, "method": "shutdown"}):
        proc.stdin.write(frame(message))
    proc.stdin.flush()
    # The reader thread owns stdout: wait for the replies there (communicate() would
    # race it for the same bytes), then let the server exit.
    assert wait_for_reply(received, 3, time.monotonic() + 120) is not None
    proc.stdin.write(frame({"jsonrpc": "2.0", "method": "exit"}))
    proc.stdin.close()
    proc.wait(timeout=60)
    reader.join(10)
    err = err_reader.result()
    out = bytes(received)
    messages = parse_stream(out)
    shown = [m["params"]["message"] for m in messages if m.get("method") == "window/showMessage"]
    assert any("completion.max_tokens" in s for s in shown), shown
    assert any("no model" in s for s in shown), shown
    reply = next(m for m in messages if m.get("id") == 2)
    assert reply["result"]["modelError"] and reply["result"]["index"]["chunks"] > 0
    assert next(m for m in messages if m.get("id") == 3)["result"] is None
    assert b"Traceback" not in err or b"no-such-model" in err  # logs go to stderr
