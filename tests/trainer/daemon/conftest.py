"""Fixtures for the daemon tests: a daemon with controllable stand-in handlers, served by
a real uvicorn server on a free port when the test is about HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from daemon_helpers import LiveDaemon, StepHandler, free_port, step_handlers

from mochi.trainer.api import create_app
from mochi.trainer.daemon import DaemonConfig, DaemonParts, build_daemon


@pytest.fixture
def step_handler() -> StepHandler:
    return StepHandler()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    folder = tmp_path / "workspace"
    folder.mkdir()
    return folder


@pytest.fixture
def parts(tmp_path: Path, step_handler: StepHandler) -> Iterator[DaemonParts]:
    config = DaemonConfig(data_dir=tmp_path / "data", devices=("cpu",), poll_seconds=0.05)
    built = build_daemon(config, handlers=step_handlers(step_handler))
    yield built
    step_handler.release.set()
    built.stop()


@pytest.fixture
def live_daemon(parts: DaemonParts) -> Iterator[LiveDaemon]:
    """The daemon's app served by uvicorn in a thread (runner started)."""
    parts.start()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(parts), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield LiveDaemon(f"http://127.0.0.1:{port}", parts.token, parts)
    server.should_exit = True
    thread.join(5)
