"""Request bodies within bounds, as ASGI middleware in front of every route.

A body over `max_bytes` is answered 413 before it is read whole: at once when its
`Content-Length` says so, or as soon as a chunked body passes the cap. A body that has
not fully arrived `timeout` seconds after the request began is answered 408. Both
answers close the connection. A body within bounds is read here (so at most `max_bytes`
are ever held for it) and handed to the app as one message.
"""

from __future__ import annotations

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mochi.trainer.api.error_response import send_error

_CLOSE = [(b"connection", b"close")]


class _TooLarge(Exception):
    pass


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int, timeout: float) -> None:
        if max_bytes < 1 or timeout <= 0:
            raise ValueError(f"need a positive size and timeout, not {max_bytes}, {timeout}")
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = (
            f"the request body is over the daemon's limit of {self.max_bytes} bytes "
            "(max_body_bytes)"
        )
        if _declared_length(scope) > self.max_bytes:
            await send_error(send, 413, too_large, _CLOSE)
            return
        try:
            with anyio.fail_after(self.timeout):
                body = await self._read(receive)
        except _TooLarge:
            await send_error(send, 413, too_large, _CLOSE)
            return
        except TimeoutError:
            late = f"the request body did not arrive within {self.timeout:g} s (body_timeout)"
            await send_error(send, 408, late, _CLOSE)
            return
        if body is not None:  # None: the client went away
            await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive) -> bytes | None:
        body, more = bytearray(), True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                raise _TooLarge
            more = bool(message.get("more_body", False))
        return bytes(body)


def _declared_length(scope: Scope) -> int:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:  # the HTTP server refuses those before they get here
                return 0
    return 0


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body as one message, then the connection's own messages (disconnects)."""
    pending = [body]

    async def replayed() -> Message:
        if pending:
            return {"type": "http.request", "body": pending.pop(), "more_body": False}
        return await receive()

    return replayed
