"""The token check on every request (docs and OpenAPI included), as ASGI middleware so no
route can be added without it.

Clients send `Authorization: Bearer <token>`. A browser cannot send that header when it
opens a page, so the dashboard takes the token once in its URL: `GET
/dashboard?token=<token>` answers with a session cookie (HttpOnly, SameSite=Strict) and a
redirect to `/dashboard`, which drops the token from the address bar and the history.
The cookie holds an HMAC of the token, not the token, and it opens only GET and HEAD
requests: the page reads, and whatever changes state still needs the header (a page on
another port of this host is same-site, so SameSite alone would not stop its POSTs).
"""

from __future__ import annotations

import hashlib
import hmac
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send

from mochi.trainer.api.error_response import send_error, send_html

DASHBOARD_PATH = "/dashboard"
SESSION_COOKIE = "mochi_trainer_session"
_CHALLENGE = (b"www-authenticate", b'Bearer realm="mochi-trainer"')
_READ_METHODS = ("GET", "HEAD")

LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mochi trainer: token needed</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:40em;margin:4em auto;color:#222}
code{background:#f2f2f2;padding:.1em .3em;border-radius:3px}</style></head>
<body><h1>The dashboard needs the daemon's token</h1>
<p>Open <code>/dashboard?token=&lt;token&gt;</code> once: the daemon then sets a session
cookie. <code>mochi trainer dashboard</code> prints that address; the token is in the
file that <code>mochi trainer serve</code> names when it starts.</p></body></html>
"""


def session_cookie_value(token: str) -> str:
    """What the session cookie holds: an HMAC of the token (the token itself never goes
    into the browser's cookie jar)."""
    return hmac.new(token.encode(), b"mochi-trainer dashboard session", hashlib.sha256).hexdigest()


class BearerTokenMiddleware:
    def __init__(self, app: ASGIApp, token: str) -> None:
        if not token:
            raise ValueError("the daemon needs a non-empty bearer token")
        self.app = app
        self._token = token.encode()
        self._expected = f"Bearer {token}".encode()
        self._session = session_cookie_value(token).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given, cookies = b"", b""
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                given = value
            elif name == b"cookie":
                cookies = value
        if hmac.compare_digest(given, self._expected):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":  # pragma: no cover - no websocket routes
            await send({"type": "websocket.close", "code": 1008})
            return
        reads = scope["method"] in _READ_METHODS
        dashboard = reads and scope["path"] == DASHBOARD_PATH
        offered = _query_token(scope) if dashboard else None
        if offered is not None and hmac.compare_digest(offered, self._token):
            await self._start_session(scope, send)
            return
        if reads and hmac.compare_digest(_session_of(cookies), self._session):
            await self.app(scope, receive, send)
            return
        if dashboard:
            await send_html(send, 401, LOGIN_PAGE, [_CHALLENGE])
            return
        detail = "missing bearer token" if not given else "wrong bearer token"
        await send_error(send, 401, detail, [_CHALLENGE])

    async def _start_session(self, scope: Scope, send: Send) -> None:
        attributes = "; HttpOnly; SameSite=Strict; Path=/"
        if scope.get("scheme") == "https":
            attributes += "; Secure"
        cookie = f"{SESSION_COOKIE}={self._session.decode()}{attributes}"
        await send(
            {
                "type": "http.response.start",
                "status": 303,
                "headers": [
                    (b"location", DASHBOARD_PATH.encode()),
                    (b"set-cookie", cookie.encode()),
                    (b"cache-control", b"no-store"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"content-length", b"0"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})


def _session_of(header: bytes) -> bytes:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header.decode("latin-1"))
    except CookieError:
        return b""
    morsel = jar.get(SESSION_COOKIE)
    return morsel.value.encode("latin-1") if morsel is not None else b""


def _query_token(scope: Scope) -> bytes | None:
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    values = query.get("token")
    return values[0].strip().encode() if values else None
