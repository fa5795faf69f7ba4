"""The in-process LSP server of the tests: the real server object (its features
registered as `mochi serve` registers them) writing to a Wire instead of stdout."""

from __future__ import annotations

import json
from typing import Any

from mochi.server.lsp import Services, create_server
from mochi.server.lsp.server import MochiServer


class Wire:
    """The writer pygls is given: collects each message it sends."""

    def __init__(self) -> None:
        self.data = b""

    def write(self, data: bytes) -> None:
        self.data += data

    def close(self) -> None:
        pass

    def messages(self) -> list[dict[str, Any]]:
        found, rest = [], self.data
        while rest:
            head, _, rest = rest.partition(b"\r\n\r\n")
            length = int(head.split(b"\r\n")[0].removeprefix(b"Content-Length: "))
            found.append(json.loads(rest[:length]))
            rest = rest[length:]
        return found

    def answer(self, message_id: Any) -> dict[str, Any]:
        (found,) = [m for m in self.messages() if m.get("id") == message_id and "method" not in m]
        return found


def unused(*args: Any) -> Any:
    raise AssertionError("not used by these tests")


def offline_server() -> MochiServer:
    """The server with no index and no model to open (either raises), writing to a Wire."""
    server = create_server(Services(open_index=unused, make_generator=unused))
    server.protocol.set_writer(Wire())
    return server


def wire(server: MochiServer) -> Wire:
    writer = server.protocol.writer
    assert isinstance(writer, Wire)
    return writer
