"""The training daemon's real app served by uvicorn in a thread, on a free port, with
stand-in job handlers: for tests about reaching the daemon (URL, token), not training."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from daemon_helpers import LiveDaemon, StepHandler, step_handlers
from ports import free_port

from mochi.trainer.api import create_app
from mochi.trainer.daemon import DaemonConfig, DaemonParts, build_daemon
from mochi.trainer.daemon.shutdown import HTTP_GRACE_SECONDS


@contextmanager
def serve_parts(parts: DaemonParts) -> Iterator[LiveDaemon]:
    """Start the runner and serve the daemon's app until the block ends."""
    parts.start()
    port = free_port()
    config = uvicorn.Config(
        create_app(parts),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=HTTP_GRACE_SECONDS,  # as `mochi trainer serve` has it
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield LiveDaemon(f"http://127.0.0.1:{port}", parts.token, parts)
    finally:
        server.should_exit = True
        thread.join(5)


@contextmanager
def serve_daemon(data_dir: Path) -> Iterator[LiveDaemon]:
    """A daemon whose jobs are stand-ins (StepHandler), served over real HTTP."""
    handler = StepHandler()
    config = DaemonConfig(data_dir=data_dir, devices=("cpu",), poll_seconds=0.05)
    parts = build_daemon(config, handlers=step_handlers(handler))
    try:
        with serve_parts(parts) as live:
            yield live
    finally:
        handler.release.set()
        parts.stop()
