"""The `/metrics` HTTP endpoint (`server.metrics_port`): prometheus_client's WSGI server
over the server's own registry, on a daemon thread, so a scrape never waits on the LSP
event loop nor the loop on a scrape. It answers quietly (no request log on stdout)."""

from __future__ import annotations

import logging
import threading
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server

log = logging.getLogger(__name__)


class MetricsEndpointError(Exception):
    """The endpoint could not listen (the port is in use, the host is not this machine's)."""


class MetricsEndpoint:
    """At most one listener at a time; `serve` moves it, port 0 turns it off."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.address: tuple[str, int] | None = None
        self._listener: tuple[WSGIServer, threading.Thread] | None = None
        self._lock = threading.Lock()

    def serve(self, host: str, port: int) -> None:
        """Listen on host:port (0: stop listening); raises MetricsEndpointError. Stopping
        takes up to half a second: call it off the event loop."""
        with self._lock:
            self._serve(host, port)

    def _serve(self, host: str, port: int) -> None:
        if self.address == (host, port) or (port == 0 and self._listener is None):
            return
        self._stop()
        if port == 0:
            return
        try:
            self._listener = start_http_server(port, addr=host, registry=self.registry)
        except OSError as exc:
            raise MetricsEndpointError(
                f"cannot serve metrics on {url(host, port)}: {exc.strerror or exc}"
            ) from exc
        self.address = (host, port)
        log.info("metrics on %s", url(host, port))

    def stop(self) -> None:
        with self._lock:
            self._stop()

    def _stop(self) -> None:
        if self._listener is None:
            return
        server, thread = self._listener
        self._listener, self.address = None, None
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/metrics"
