"""The daemon's log lines for a job's progress: one when a stage starts or ends, and one
at most every `interval` seconds between, with the time the stage has left."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from mochi.rag.time_left import about_left

DEFAULT_INTERVAL_SECONDS = 30.0


class ProgressLog:
    """Fed every (stage, done, total, message, seconds left) a job reports; writes the
    few that matter."""

    def __init__(
        self,
        job_id: str,
        log: logging.Logger,
        *,
        interval: float = DEFAULT_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._job_id = job_id
        self._log = log
        self._interval = interval
        self._clock = clock
        self._stage: str | None = None
        self._last = 0.0

    def __call__(
        self, stage: str, done: int, total: int, message: str, seconds_left: float | None
    ) -> None:
        now = self._clock()
        new_stage = stage != self._stage
        finished = total > 0 and done >= total
        if not (new_stage or finished or now - self._last >= self._interval):
            return
        self._stage, self._last = stage, now
        self._log.info(
            "job %s: %s",
            self._job_id,
            describe(stage, done, total, message, about_left(seconds_left)),
        )


def describe(stage: str, done: int, total: int, message: str, left: str = "") -> str:
    """ "train 12/40 (30 %), about 2 min left: the new version" """
    parts = [stage or "working"]
    if total > 0:
        parts.append(f"{done}/{total} ({min(100, 100 * done // total)} %)")
    text = " ".join(parts)
    if left:
        text += f", {left}"
    return f"{text}: {message}" if message else text
