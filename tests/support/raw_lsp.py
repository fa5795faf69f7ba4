"""`mochi serve` driven byte by byte, as an editor (or a broken client) would drive it.

One thread reads stdout and parses every byte as a Content-Length frame: anything else
is recorded in `stray` (stdout must carry nothing but LSP). It answers the server's own
requests (workDoneProgress/create, showDocument, ...) with null, as a plain editor does.
Another thread drains stderr so that a chatty server never blocks on a full pipe.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from lsp_fixtures import SERVER_COMMAND

Message = dict[str, Any]


def frame(message: Message) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


def request(request_id: int | str, method: str, params: Any = None) -> Message:
    message: Message = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not None:
        message["params"] = params
    return message


class RawLspServer:
    def __init__(self, env: Mapping[str, str], *args: str) -> None:
        self.proc = subprocess.Popen(
            [*SERVER_COMMAND, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env),
        )
        self.messages: list[Message] = []
        self.stray: str | None = None  # the first bytes on stdout that were not a frame
        self.stderr = bytearray()
        self._changed = threading.Condition()
        self._write = threading.Lock()
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    def send_bytes(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        with self._write:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()

    def send(self, message: Message) -> None:
        self.send_bytes(frame(message))

    def wait_for(self, found: Callable[[Message], bool], timeout: float = 60) -> Message:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for message in self.messages:
                    if found(message):
                        return message
                left = deadline - time.monotonic()
                if left <= 0 or self.stray is not None:
                    raise AssertionError(f"no such message in {timeout}s; stray={self.stray}")
                self._changed.wait(left)

    def reply(self, request_id: int | str, timeout: float = 60) -> Message:
        return self.wait_for(lambda m: m.get("id") == request_id and "method" not in m, timeout)

    def call(self, request_id: int | str, method: str, params: Any = None) -> Message:
        self.send(request(request_id, method, params))
        return self.reply(request_id)

    def responses(self) -> list[Message]:
        with self._changed:
            return [m for m in self.messages if "method" not in m]

    def exit_code(self, timeout: float = 30) -> int:
        """Waits for the process to end (stdin stays open: `exit` alone must end it)."""
        return self.proc.wait(timeout)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        stream = self.proc.stdout
        while self.stray is None:
            length = self._read_headers(stream)
            if length is None:
                return
            message = json.loads(stream.read(length))
            if "method" in message and "id" in message:  # the server asks the client
                self.send({"jsonrpc": "2.0", "id": message["id"], "result": None})
            with self._changed:
                self.messages.append(message)
                self._changed.notify_all()

    def _read_headers(self, stream: Any) -> int | None:
        length = None
        while line := stream.readline():
            if line == b"\r\n" and length is not None:
                return length
            name, sep, value = line.partition(b": ")
            if name == b"Content-Length" and sep and value.strip().isdigit():
                length = int(value)
            elif name != b"Content-Type" or not sep:
                with self._changed:
                    self.stray = repr(line[:200])
                    self._changed.notify_all()
                return None
        return None

    def _drain_stderr(self) -> None:
        assert self.proc.stderr is not None
        while chunk := self.proc.stderr.read1(65536):
            self.stderr.extend(chunk)
