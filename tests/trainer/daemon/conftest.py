"""Fixtures for the daemon tests: a daemon with controllable stand-in handlers, served by
a real uvicorn server on a free port when the test is about HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from daemon_helpers import LiveDaemon, StepHandler, step_handlers
from daemon_process import DaemonProcess
from dashboard_jobs import SampleJobs, add_sample_jobs
from git_repo import GitRepo
from live_daemon import serve_parts
from ports import free_port

from mochi.trainer.daemon import DaemonConfig, DaemonParts, build_daemon


@pytest.fixture
def step_handler() -> StepHandler:
    return StepHandler()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A real (empty) git repository: the daemon refuses folders that are no project."""
    return GitRepo.create(tmp_path / "workspace").root


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
    with serve_parts(parts) as live:
        yield live


@pytest.fixture
def daemon(tmp_path: Path, tiny_model_dir: Path) -> Iterator[DaemonProcess]:
    """`mochi trainer serve` as users run it, in its own data dir; not started yet (the
    test starts and stops it), killed after the test."""
    xdg = tmp_path / "xdg"
    xdg.mkdir()
    process = DaemonProcess(xdg, tiny_model_dir, free_port())
    yield process
    process.kill()


# The dashboard tests' daemon: what it shows, put into the real store and registry.
@pytest.fixture
def sample(parts: DaemonParts, tmp_path: Path) -> SampleJobs:
    """Finished, refused, failed, running and queued jobs with loss histories and
    registry versions (tests/trainer/daemon/dashboard_jobs.py)."""
    return add_sample_jobs(parts, tmp_path / "repo")


@pytest.fixture
def live(parts: DaemonParts, sample: SampleJobs) -> Iterator[LiveDaemon]:
    """The daemon holding `sample`, served by uvicorn in a thread."""
    with serve_parts(parts) as live:
        yield live
