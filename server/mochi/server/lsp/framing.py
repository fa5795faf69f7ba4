"""LSP base-protocol framing: header lines, a blank line, then Content-Length bytes of JSON.

`FrameReader` turns the bytes of a stream into JSON values. It reads headers as the base
protocol allows them (names in any case, LF-only line ends, optional whitespace) and a
broken frame never leaves it stuck: a bad header, a body that is not JSON or a
Content-Length that does not match the body gives one `FrameError`, and the reader
resynchronises on the next well-formed Content-Length header. That header can never
appear inside a valid body (a JSON string holds no raw line end), so finding one within a
body proves the length wrong without waiting for bytes that will never come.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

MAX_HEADER_BYTES = 8192
_TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]*")  # an HTTP header name
_LENGTH_LINE = re.compile(rb"content-length[ \t]*:[ \t]*\d+[ \t]*\r?\n", re.IGNORECASE)
_TAIL = 64  # bytes kept while scanning, so that a header split across reads is found


@dataclass(frozen=True)
class Message:
    """One frame's body, decoded from JSON."""

    payload: Any


@dataclass(frozen=True)
class FrameError:
    """A frame that could not be read; `reason` says what was wrong with it."""

    reason: str


class _Wait:
    """Returned by a step that needs more bytes."""


_WAIT = _Wait()
Event = Message | FrameError


class FrameReader:
    """Feed it bytes as they arrive; it returns the frames they complete."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._line_start = 0  # where the header line being read starts
        self._length: int | None = None  # the Content-Length of the frame being read
        self._in_body = False
        self._scanned = 0  # body bytes already searched for a stray header
        self._resync_from: int | None = None  # scanning for a header from here

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Event]:
        self._buffer += data
        found: list[Event] = []
        while not isinstance(step := self._step(), _Wait):
            if step is not None:
                found.append(step)
        return found

    def _step(self) -> Event | _Wait | None:
        if self._resync_from is not None:
            return self._resync()
        return self._read_body() if self._in_body else self._read_header_line()

    def _read_header_line(self) -> Event | _Wait | None:
        buffer, start = self._buffer, self._line_start
        newline = buffer.find(b"\n", start)
        # without its "\r" (in a partial line: the "\n" may be on its way)
        line = bytes(buffer[start:newline] if newline >= 0 else buffer[start:])
        line = line.removesuffix(b"\r")
        name_end = found.end() if (found := _TOKEN.match(line)) else 0
        if name_end < len(line) and line[name_end : name_end + 1] != b":":
            return self._fail("malformed header line", start + 1)
        if (newline if newline >= 0 else len(buffer)) > MAX_HEADER_BYTES:
            return self._fail(f"header longer than {MAX_HEADER_BYTES} bytes", 1)
        if newline < 0:
            return _WAIT
        self._line_start = newline + 1
        if not line:
            return self._end_of_headers(first_line=start == 0, end=newline + 1)
        name, sep, value = line.partition(b":")
        if not sep or not name:
            return self._fail("malformed header line", start + 1)
        if name.lower() == b"content-length":
            text = value.strip()
            if not text.isdigit():
                shown = text.decode("ascii", "replace")[:40]
                return self._fail(f"Content-Length {shown!r} is not a number", start + 1)
            if self._length not in (None, int(text)):
                return self._fail("two different Content-Length headers", start + 1)
            self._length = int(text)
        return None

    def _end_of_headers(self, *, first_line: bool, end: int) -> Event | None:
        if first_line:
            self._consume(end)  # a stray blank line between frames
            return None
        if self._length is None:
            return self._fail("no Content-Length header", end)
        del self._buffer[:end]
        self._line_start = 0
        self._in_body = True
        return None

    def _read_body(self) -> Event | _Wait:
        assert self._length is not None
        available = min(len(self._buffer), self._length)
        if _LENGTH_LINE.search(self._buffer, max(0, self._scanned - _TAIL), available):
            return self._fail("a frame header inside the body: its Content-Length is wrong", 0)
        self._scanned = available
        if len(self._buffer) < self._length:
            return _WAIT
        body = bytes(self._buffer[: self._length])
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
            reason = "nested too deep" if isinstance(exc, RecursionError) else "not valid JSON"
            return self._fail(f"the body is {reason} (Content-Length {self._length})", 0)
        self._consume(self._length)
        return Message(payload)

    def _resync(self) -> _Wait | None:
        assert self._resync_from is not None
        found = _LENGTH_LINE.search(self._buffer, self._resync_from)
        if found is not None:
            self._consume(found.start())
            return None
        self._consume(max(self._resync_from, len(self._buffer) - _TAIL))
        self._resync_from = 0
        return _WAIT

    def _fail(self, reason: str, resume_at: int) -> FrameError:
        """Report the frame and scan for the next header from `resume_at`."""
        self._reset()
        self._resync_from = resume_at
        return FrameError(reason)

    def _consume(self, end: int) -> None:
        del self._buffer[:end]
        self._reset()

    def _reset(self) -> None:
        self._line_start = 0
        self._length = None
        self._in_body = False
        self._scanned = 0
        self._resync_from = None
