"""The LSP base-protocol frame reader: headers as the base protocol allows them, and a
reader that a broken frame never leaves stuck (it reports the frame and resynchronises on
the next Content-Length header)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mochi.server.lsp.framing import FrameError, FrameReader, Message


def body(message_id: int) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": message_id, "method": "shutdown"}).encode()


def frame(message_id: int) -> bytes:
    data = body(message_id)
    return b"Content-Length: %d\r\n\r\n%s" % (len(data), data)


def events(*chunks: bytes) -> list[Message | FrameError]:
    reader = FrameReader()
    return [event for chunk in chunks for event in reader.feed(chunk)]


def summary(found: list[Message | FrameError]) -> list[Any]:
    """Each event as the id of the message it holds, or "error"."""
    return [e.payload["id"] if isinstance(e, Message) else "error" for e in found]


def test_a_well_formed_frame_gives_its_message() -> None:
    assert events(frame(1)) == [Message(json.loads(body(1)))]


@pytest.mark.parametrize(
    "head",
    [
        b"content-length: %d\r\n\r\n",  # header names are case-insensitive
        b"CONTENT-LENGTH: %d\r\n\r\n",
        b"Content-Length: %d\n\n",  # LF-only line ends
        b"Content-Length:%d\r\n\r\n",  # no space after the colon
        b"Content-Length:   %d  \r\n\r\n",
        b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\nContent-Length: %d\r\n\r\n",
        b"Content-Length: %d\r\nContent-Type: application/vscode-jsonrpc\n\r\n",
    ],
)
def test_headers_in_any_case_and_with_lf_line_ends_are_read(head: bytes) -> None:
    data = body(7)
    assert summary(events(head % len(data) + data)) == [7]


def test_stray_blank_lines_between_frames_are_skipped() -> None:
    assert summary(events(frame(1) + b"\r\n\n" + frame(2))) == [1, 2]


BROKEN = {
    "non-numeric length": b"Content-Length: abc\r\n\r\n" + body(1),
    "negative length": b"Content-Length: -5\r\n\r\n" + body(1),
    "no length": b"Content-Type: application/vscode-jsonrpc\r\n\r\n" + body(1),
    "no header at all": body(1),
    "length too long by a little": b"Content-Length: %d\r\n\r\n" % (len(body(1)) + 3) + body(1),
    "length far too long": b"Content-Length: 99999999999\r\n\r\n" + body(1),
    "length too short": b"Content-Length: %d\r\n\r\n" % (len(body(1)) - 4) + body(1),
    "zero length": b"Content-Length: 0\r\n\r\n" + body(1),
    "body not JSON": b"Content-Length: 9\r\n\r\n{not json",
    "body not UTF-8": b"Content-Length: 4\r\n\r\n\xff\xfe\xfa\xfb",
    "body nested too deep": b"Content-Length: 10000\r\n\r\n" + b"[" * 5_000 + b"]" * 5_000,
    "malformed header line": b"Content-Length 12\r\n\r\n" + body(1),
    "conflicting lengths": b"Content-Length: 5\r\nContent-Length: 6\r\n\r\n" + body(1),
}


@pytest.mark.parametrize("broken", BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_frame_is_reported_once_and_the_next_frame_is_read(broken: bytes) -> None:
    found = events(broken + frame(2) + frame(3))
    assert summary(found) == ["error", 2, 3]
    error = found[0]
    assert isinstance(error, FrameError) and error.reason


@pytest.mark.parametrize("broken", BROKEN.values(), ids=BROKEN.keys())
def test_the_result_does_not_depend_on_how_the_bytes_arrive(broken: bytes) -> None:
    stream = frame(1) + broken + frame(2)
    at_once = events(stream)
    byte_by_byte = events(*(stream[i : i + 1] for i in range(len(stream))))
    assert summary(at_once) == summary(byte_by_byte) == [1, "error", 2]
    assert at_once == byte_by_byte


def test_a_length_too_long_is_found_without_waiting_for_bytes_that_never_come() -> None:
    """The client sends one frame with a wrong length, then a good one, and waits: the
    good one must be answered although the bad frame's body never completes."""
    reader = FrameReader()
    assert reader.feed(b"Content-Length: 5000\r\n\r\n" + body(1)) == []
    assert summary(reader.feed(frame(2))) == ["error", 2]


def test_a_body_without_headers_is_reported_as_soon_as_it_starts() -> None:
    assert summary(events(body(1))) == ["error"]


def test_the_reason_names_the_header() -> None:
    (error, _) = events(b"content-length: twelve\r\n\r\n{}" + frame(2))
    assert isinstance(error, FrameError) and "Content-Length" in error.reason
    assert "twelve" in error.reason


def test_garbage_is_dropped_as_it_is_scanned() -> None:
    reader = FrameReader()
    for _ in range(100):
        reader.feed(b"x" * 10_000)
    assert reader.buffered < 1_000
    assert summary(reader.feed(frame(5))) == [5]


def test_a_header_that_never_ends_is_reported() -> None:
    reader = FrameReader()
    found = reader.feed(b"Content-Length: 5\r\nX-Padding: " + b"a" * 100_000)
    assert summary(found) == ["error"]
    assert summary(reader.feed(b"\r\n\r\n" + frame(4))) == [4]
