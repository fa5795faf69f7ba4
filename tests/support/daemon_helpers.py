"""Daemon test helpers: a controllable stand-in job handler, polling."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from mochi.trainer.daemon import DaemonParts
from mochi.trainer.jobs.context import JobContext
from mochi.trainer.jobs.errors import JobCancelled
from mochi.trainer.protocol import JobKind


@dataclass
class StepHandler:
    """Reports `steps` progress steps; waits on `release` before each one (so a test can
    hold a job RUNNING), and stops when cancelled."""

    steps: int = 3
    release: threading.Event = field(default_factory=threading.Event)
    started: list[str] = field(default_factory=list)

    def __call__(self, ctx: JobContext) -> dict[str, Any]:
        self.started.append(ctx.job.id)
        for step in range(self.steps):
            while not self.release.wait(0.02):
                if ctx.should_cancel():
                    raise JobCancelled("cancelled")
            if ctx.should_cancel():
                raise JobCancelled("cancelled")
            ctx.progress("train", step + 1, self.steps)
            time.sleep(0.05)
        return {"published": True, "version": "v1", "resumed": ctx.resume}


def step_handlers(handler: StepHandler) -> dict[JobKind, Any]:
    return {kind: handler for kind in JobKind}


@dataclass
class LiveDaemon:
    url: str
    token: str
    parts: DaemonParts


def wait_for(predicate: Any, timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
