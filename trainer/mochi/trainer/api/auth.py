"""Bearer-token check on every request (docs and OpenAPI included), as ASGI middleware so
no route can be added without it."""

from __future__ import annotations

import hmac

from starlette.types import ASGIApp, Receive, Scope, Send

from mochi.trainer.api.error_response import send_error


class BearerTokenMiddleware:
    def __init__(self, app: ASGIApp, token: str) -> None:
        if not token:
            raise ValueError("the daemon needs a non-empty bearer token")
        self.app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = b""
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                given = value
                break
        if hmac.compare_digest(given, self._expected):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":  # pragma: no cover - no websocket routes
            await send({"type": "websocket.close", "code": 1008})
            return
        detail = "missing bearer token" if not given else "wrong bearer token"
        await send_error(
            send, 401, detail, [(b"www-authenticate", b'Bearer realm="mochi-trainer"')]
        )
