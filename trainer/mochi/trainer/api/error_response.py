"""An error answered straight from ASGI middleware, before any route runs: JSON for
clients, a small HTML page for a browser."""

from __future__ import annotations

import json
from collections.abc import Sequence

from starlette.types import Send


async def send_error(
    send: Send, status: int, detail: str, headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    """`{"detail": detail}` with `status`, the shape FastAPI gives its own errors."""
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def send_html(
    send: Send, status: int, page: str, headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    body = page.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
