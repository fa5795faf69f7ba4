"""The read loop of `mochi serve` (stdio and TCP): bytes → `FrameReader` → `MochiProtocol`.

It stands in for pygls' own loop, which goes deaf for good after one bad frame header:
here a bad frame is answered with -32700 (id null) and reading goes on."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor

from lsprotocol.types import ErrorCodes

from mochi.server.lsp.framing import FrameError, FrameReader
from mochi.server.lsp.protocol import MochiProtocol

log = logging.getLogger(__name__)
CHUNK = 65536


async def pump(
    protocol: MochiProtocol, read: Callable[[], Awaitable[bytes]], stop: threading.Event
) -> None:
    """Read until the stream ends or `stop` is set. `exit` raises SystemExit in here."""
    frames = FrameReader()
    while not stop.is_set() and (data := await read()):
        for event in frames.feed(data):
            if isinstance(event, FrameError):
                log.warning("unreadable frame: %s", event.reason)
                reason = f"unreadable frame: {event.reason}"
                protocol.send_error(None, ErrorCodes.ParseError, reason)
            else:
                protocol.receive(event.payload)


def fd_reader(fd: int, executor: Executor) -> Callable[[], Awaitable[bytes]]:
    """Reads whatever has arrived on `fd` (up to CHUNK bytes), off the event loop."""

    def read() -> Awaitable[bytes]:
        return asyncio.get_running_loop().run_in_executor(executor, os.read, fd, CHUNK)

    return read
