"""The language server's side of index sharing: a Unix socket listener that answers
`mochi mcp`'s tool calls from a `ToolBackend` (see `share_wire` for the messages).

It runs on threads of its own (one per connection), never on the LSP event loop; the
backend decides where the work itself runs (the server's index and model pools).
"""

from __future__ import annotations

import hmac
import inspect
import json
import logging
import os
import socketserver
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mochi.server.mcp.backend import ToolBackend, ToolUnavailable
from mochi.server.mcp.conventions import ConventionReport
from mochi.server.mcp.ranking import Ranking
from mochi.server.mcp.share_wire import (
    MAX_LINE,
    ShareInfo,
    encode,
    error,
    new_token,
    remove_share_file,
    write_share_file,
)
from mochi.server.mcp.workspace_files import ToolInputError

log = logging.getLogger(__name__)
TOOLS = (
    "search_code",
    "context_for",
    "explain_symbol",
    "rank_candidates",
    "check_conventions",
    "ask",
    "index_status",
    "search_hits",  # `mochi search`: the hits themselves (IndexBackend.search_hits)
)


def _json_ready(value: Any) -> Any:
    return value.as_dict() if isinstance(value, Ranking | ConventionReport) else value


class _Listener(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, path: Path, answer: Callable[[bytes], tuple[bytes, bool]]) -> None:
        self.answer = answer
        path.unlink(missing_ok=True)  # a crashed server's (we hold the index lock now)
        super().__init__(str(path), _Connection)
        path.chmod(0o600)


class _Connection(socketserver.StreamRequestHandler):
    server: _Listener

    def handle(self) -> None:
        while True:
            line = self.rfile.readline(MAX_LINE + 1)
            if not line:
                return
            if len(line) > MAX_LINE:
                self.wfile.write(encode(error("bad_request", "request too long")))
                return
            reply, keep_open = self.server.answer(line)
            self.wfile.write(reply)
            self.wfile.flush()
            if not keep_open:
                return


class ShareEndpoint:
    """Serves `backend` on the Unix socket `socket` to the holder of a token written to
    `file`, until `close`. Start it only while holding the index lock: the socket's path
    is the index's, and a leftover one is replaced."""

    def __init__(self, backend: ToolBackend, root: Path, file: Path, socket: Path) -> None:
        self.backend = backend
        self.root = root
        self.file = file
        self.socket = socket
        self.token = new_token()
        self.info: ShareInfo | None = None
        self._listener: _Listener | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> ShareInfo:
        listener = _Listener(self.socket, self._answer)
        info = ShareInfo(str(self.socket), self.token, os.getpid(), str(self.root))
        thread = threading.Thread(
            target=listener.serve_forever,
            kwargs={"poll_interval": 0.1},
            daemon=True,
            name="mochi-index-share",
        )
        thread.start()
        self._listener, self._thread = listener, thread
        try:
            write_share_file(self.file, info)
        except BaseException:
            self.close()
            raise
        self.info = info
        log.info("sharing the index with mochi mcp on %s (%s)", self.socket, self.file)
        return info

    def close(self) -> None:
        """Remove the share file, then stop listening (takes up to a tenth of a second)."""
        remove_share_file(self.file, self.token)
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.shutdown()
            listener.server_close()
            self.socket.unlink(missing_ok=True)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.backend.close()

    def _answer(self, line: bytes) -> tuple[bytes, bool]:
        """The reply to one request line, and whether the connection stays open."""
        try:
            request = json.loads(line)
        except ValueError:
            return encode(error("bad_request", "not a JSON line")), False
        if not isinstance(request, dict):
            return encode(error("bad_request", "a request is a JSON object")), False
        token = request.get("token")
        if not isinstance(token, str) or not hmac.compare_digest(token, self.token):
            log.warning("index share: a request with a wrong token was refused")
            return encode(error("unauthorized", "wrong token")), False
        return encode(self._call(request.get("method"), request.get("params", {}))), True

    def _call(self, method: object, params: object) -> dict[str, Any]:
        if method == "hello":
            return {"result": {"pid": os.getpid(), "root": str(self.root)}}
        if not isinstance(method, str) or method not in TOOLS:
            return error("bad_request", f"unknown method {method!r}")
        if not isinstance(params, dict):
            return error("bad_request", "params must be an object")
        fn = getattr(self.backend, method, None)
        if fn is None:
            return error("bad_request", f"this server does not answer {method!r}")
        try:
            inspect.signature(fn).bind(**params)
        except TypeError as exc:
            return error("bad_request", f"{method}: {exc}")
        try:
            return {"result": _json_ready(fn(**params))}
        except ToolInputError as exc:
            return error("input", str(exc))
        except ToolUnavailable as exc:
            return error("unavailable", str(exc))
        except Exception as exc:
            log.exception("index share: %s failed", method)
            return error("internal", f"{method} failed in the language server: {exc}")
