"""Stopping the daemon on SIGTERM or SIGINT without losing the running jobs.

uvicorn takes the signal: it stops accepting connections, lets open requests finish
(event streams get `HTTP_GRACE_SECONDS`), restores the handler it found installed and
raises the signal again for it. The daemon installs `ShutdownSignals` first, so that
second delivery only counts the signal and `serve` goes on to stop the runner (without
it, SIGTERM's default action would kill the process there, jobs and all). The runner is
told at the first signal already (`DaemonServer`), so the jobs stop at their next step
while the HTTP side winds down: training writes a checkpoint there and the job goes back
to the queue, resuming from the checkpoint on the next start.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

import uvicorn

HTTP_GRACE_SECONDS = 5
SIGNALS = (signal.SIGTERM, signal.SIGINT)


class DaemonServer(uvicorn.Server):
    """uvicorn's server, calling `on_signal` as soon as SIGTERM or SIGINT arrives. It runs
    inside the signal handler, so it must only set a flag (no lock the main thread may
    hold)."""

    def __init__(self, config: uvicorn.Config, on_signal: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_signal = on_signal

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._on_signal()
        super().handle_exit(sig, frame)

    def request_exit(self) -> None:
        """What a signal does, for one that came before uvicorn took over the signals."""
        self._on_signal()
        self.should_exit = True


class ShutdownSignals:
    """SIGTERM/SIGINT handlers (main thread only) that count the signals and call
    `forward` (the server's `request_exit`: a signal before uvicorn takes over still stops
    it). `forced` turns True at the second signal: stop waiting for the jobs."""

    def __init__(self, forward: Callable[[], None]) -> None:
        self.received = 0
        self._forward = forward
        self._previous: dict[int, Any] = {}  # what signal.signal returned

    @property
    def forced(self) -> bool:
        return self.received > 1

    def __enter__(self) -> ShutdownSignals:
        self._previous = {sig: signal.signal(sig, self._note) for sig in SIGNALS}
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _note(self, sig: int, frame: FrameType | None) -> None:
        self.received += 1
        self._forward()
