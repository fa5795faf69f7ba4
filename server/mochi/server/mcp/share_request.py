"""One call to a running language server's index share (see `share_wire`), and finding
the share that serves a workspace.

Kept free of the MCP tools and their imports, so that `mochi search` can forward a
query to the server in a fraction of a second; `share_client` builds the MCP back end
on top of it.
"""

from __future__ import annotations

import json
import logging
import socket
from pathlib import Path
from typing import Any

from mochi.server.mcp.share_wire import MAX_LINE, ShareInfo, encode, pid_alive, read_share_file

log = logging.getLogger(__name__)
HELLO_TIMEOUT_S = 5.0


class ShareError(Exception):
    """No answer from the share: nothing listens, the token is refused, or a bad reply."""


class ShareRefusal(Exception):
    """The server answered with an error (`kind` as in `share_wire.ErrorKind`)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def call(info: ShareInfo, method: str, params: dict[str, Any], timeout: float) -> Any:
    """One call over a fresh connection: its result; ShareRefusal for an error answer
    (a refused token is a ShareError: a restarted server has a new one)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(timeout)
            conn.connect(info.socket)
            conn.sendall(encode({"token": info.token, "method": method, "params": params}))
            with conn.makefile("rb") as reader:
                line = reader.readline(MAX_LINE + 1)
    except OSError as exc:
        raise ShareError(f"cannot reach the language server at {info.socket}: {exc}") from exc
    try:
        reply = json.loads(line)
    except ValueError:
        raise ShareError("the language server's reply is not a JSON line") from None
    if not isinstance(reply, dict):
        raise ShareError("the language server's reply is not a JSON object")
    if "error" not in reply:
        return reply.get("result")
    error = reply["error"] if isinstance(reply["error"], dict) else {}
    kind = str(error.get("kind", ""))
    message = str(error.get("message", ""))
    if kind == "unauthorized":
        raise ShareError(f"the language server refused the token: {message}")
    raise ShareRefusal(kind, message)


def find_share(file: Path, root: Path) -> ShareInfo | None:
    """The share in `file` when its process is alive, serves `root` and accepts its token."""
    info = read_share_file(file)
    if info is None or not pid_alive(info.pid):
        return None
    try:
        hello = call(info, "hello", {}, HELLO_TIMEOUT_S)
    except (ShareError, ShareRefusal) as exc:
        log.info("the share in %s does not answer: %s", file, exc)
        return None
    if not isinstance(hello, dict) or hello.get("pid") != info.pid:
        return None
    if Path(str(hello.get("root", ""))).resolve() != root.resolve():
        return None
    return info
