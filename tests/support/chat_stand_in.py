"""A stand-in OpenAI-compatible chat server: a real HTTP server on a thread, serving
`POST /v1/chat/completions` (streamed as server-sent events, or one JSON body) and
recording every request it gets, so that a test can check what went into the prompt.

Its default answer refers to the sources the prompt numbers (`[1] path:start-end`): one
sentence cites source 1 as `[path:line]`, one cites `[2]`, one cites a file that is not
a source, and one cites nothing."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SOURCE_HEADER = re.compile(r"^\[(\d+)\] (\S+):(\d+)-(\d+)", re.MULTILINE)
Answer = Callable[[dict[str, Any]], str]


def sources_in(request: dict[str, Any]) -> list[tuple[int, str, int, int]]:
    """(number, path, start, end) of each source the request's user message lists."""
    user = next(m["content"] for m in request["messages"] if m["role"] == "user")
    return [(int(n), p, int(a), int(b)) for n, p, a, b in SOURCE_HEADER.findall(user)]


def citing_answer(request: dict[str, Any]) -> str:
    sources = sources_in(request)
    first = sources[0]
    parts = [f"The answer starts in {first[1]} [{first[1]}:{first[2]}]."]
    if len(sources) > 1:
        parts.append("A second source adds the details [2].")
    parts.append("Some of it is also in [nowhere/else.py:999].")
    parts.append("Everything else follows from the code shown.")
    return " ".join(parts)


@dataclass
class ChatStandIn:
    answer: Answer = citing_answer
    status: int = 200  # anything else: an error body with this status
    delay_per_piece: float = 0.0  # seconds between two streamed words
    requests: list[dict[str, Any]] = field(default_factory=list)
    cancelled: threading.Event = field(default_factory=threading.Event)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> ChatStandIn:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stand_in.requests.append({**body, "_headers": dict(self.headers)})
                if self.path != "/v1/chat/completions":
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                elif stand_in.status != 200:
                    self._send(stand_in.status, {"error": {"message": "stand-in failure"}})
                elif body.get("stream"):
                    self._stream(stand_in.answer(body))
                else:
                    reply = {"choices": [{"message": {"content": stand_in.answer(body)}}]}
                    self._send(200, reply)

            def _send(self, status: int, data: dict[str, Any]) -> None:
                raw = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _stream(self, text: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                try:
                    for word in re.findall(r"\S+\s*", text):
                        delta = {"choices": [{"delta": {"content": word}}]}
                        self.wfile.write(f"data: {json.dumps(delta)}\n\n".encode())
                        self.wfile.flush()
                        time.sleep(stand_in.delay_per_piece)
                    self.wfile.write(b"data: [DONE]\n\n")
                except (BrokenPipeError, ConnectionResetError):
                    stand_in.cancelled.set()  # the client hung up mid-answer

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
