"""stdout carries nothing but LSP messages; bad initializationOptions are reported, not fatal.

A raw client: the server is started as editors start it and every byte it
writes to stdout is parsed as Content-Length framed JSON-RPC.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
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
    assert proc.stdin is not None
    for message in requests:
        proc.stdin.write(frame(message))
    proc.stdin.flush()
    time.sleep(15)  # start-up: index the repository, try to load the model
    status = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "workspace/executeCommand",
        "params": {"command": "mochi.status", "arguments": []},
    }
    for message in (
        status,
        {"jsonrpc": "2.0", "id": 3, "method": "shutdown"},
        {"jsonrpc": "2.0", "method": "exit"},
    ):
        proc.stdin.write(frame(message))
    proc.stdin.flush()
    out, err = proc.communicate(timeout=120)
    messages = parse_stream(out)
    shown = [m["params"]["message"] for m in messages if m.get("method") == "window/showMessage"]
    assert any("completion.max_tokens" in s for s in shown), shown
    assert any("no model" in s for s in shown), shown
    reply = next(m for m in messages if m.get("id") == 2)
    assert reply["result"]["modelError"] and reply["result"]["index"]["chunks"] > 0
    assert next(m for m in messages if m.get("id") == 3)["result"] is None
    assert b"Traceback" not in err or b"no-such-model" in err  # logs go to stderr
