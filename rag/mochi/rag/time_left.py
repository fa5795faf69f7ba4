"""How long a stage of long work has left, from its rate so far: "about 3 min left".

Shared by the language server's $/progress and the training daemon's log lines."""

from __future__ import annotations

import time
from collections.abc import Callable

# Too early to tell before this much time and this share of the stage.
MIN_SECONDS = 2.0
MIN_SHARE = 0.02


class TimeLeft:
    """Fed (stage, done, total) as work reports them; a new stage starts a new estimate."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._stage: str | None = None
        self._started = 0.0
        self._first_done = 0

    def estimate(self, stage: str, done: int, total: int) -> str:
        """ "about N s/min/h left", or "" while it is too early (or nothing is counted)."""
        return about_left(self.seconds(stage, done, total))

    def seconds(self, stage: str, done: int, total: int) -> float | None:
        """The seconds the stage has left at its rate so far; None while it is too early."""
        now = self._clock()
        if stage != self._stage or done < self._first_done:
            self._stage, self._started, self._first_done = stage, now, done
            return None
        elapsed, progressed = now - self._started, done - self._first_done
        if total <= 0 or progressed <= 0 or done >= total or elapsed < MIN_SECONDS:
            return None
        if progressed / total < MIN_SHARE:
            return None
        return elapsed / progressed * (total - done)


def about_left(seconds: float | None) -> str:
    """ "about 3 min left" ("" for None)."""
    return "" if seconds is None else f"about {_duration(seconds)} left"


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{max(5, round(seconds / 5) * 5)} s"
    if seconds < 3600:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"
