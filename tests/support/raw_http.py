"""HTTP/1.1 written by hand on a socket, for the clients a real HTTP library would never
be: bodies far over a cap, chunked bodies with no end, bodies that stop half-way."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

MiB = 1024 * 1024


@dataclass(frozen=True)
class Exchange:
    status: int | None  # None: no response before the connection closed or timed out
    response: bytes
    sent: int  # body bytes written before the server stopped taking them
    seconds: float  # from the first byte sent to the end of the response
    closed: bool  # the server closed the connection (False: the read timed out)


def request_head(method: str, path: str, headers: Mapping[str, str]) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: 127.0.0.1",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def exchange(port: int, head: bytes, body: Iterable[bytes], *, timeout: float) -> Exchange:
    """Send `head` then `body` from a thread (stopping quietly when the server closes the
    connection) while this thread reads the response until the server closes it."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sent = [0]

    def pump() -> None:
        try:
            sock.sendall(head)
            for chunk in body:
                sock.sendall(chunk)
                sent[0] += len(chunk)
        except OSError:
            pass  # refused half-way: what a cap is for

    started = time.monotonic()
    sender = threading.Thread(target=pump, daemon=True)
    sender.start()
    received, closed = bytearray(), False
    try:
        while chunk := sock.recv(65536):
            received += chunk
        closed = True
    except TimeoutError:
        pass
    except ConnectionResetError:
        closed = True
    seconds = time.monotonic() - started
    sock.close()
    sender.join(timeout)
    return Exchange(_status(bytes(received)), bytes(received), sent[0], seconds, closed)


def sized_json_body(size: int, prefix: bytes) -> Iterator[bytes]:
    """Exactly `size` bytes of valid JSON: `prefix` (an object opened up to a string value)
    then filler in 1 MiB pieces, then the closing quote and braces."""
    suffix = b'"}}'
    filler = size - len(prefix) - len(suffix)
    yield prefix
    piece = b"a" * MiB
    while filler > 0:
        yield piece[: min(filler, MiB)]
        filler -= MiB
    yield suffix


def chunked(pieces: Iterable[bytes]) -> Iterator[bytes]:
    """Transfer-Encoding: chunked framing of `pieces`, with the final empty chunk."""
    for piece in pieces:
        yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    yield b"0\r\n\r\n"


@dataclass(frozen=True)
class Memory:
    rss: int  # bytes resident now
    peak: int  # the largest resident size so far (VmHWM)


def memory(pid: int) -> Memory:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value.split()
    return Memory(int(fields["VmRSS"][0]) * 1024, int(fields["VmHWM"][0]) * 1024)


def _status(response: bytes) -> int | None:
    first = response.split(b"\r\n", 1)[0].split()
    return int(first[1]) if len(first) >= 2 and first[1].isdigit() else None
