"""A circuit breaker: stop calling a back end that keeps failing, and try it again later.

After `failure_threshold` consecutive failures the circuit opens: callers are rejected at
once (no hung requests) until a cool-down has passed. The first caller after the
cool-down is admitted as a probe (half-open); its success closes the circuit, its failure
opens it again for twice the cool-down, up to `max_cooldown_s`.

Thread-safe; the clock is injectable so tests run without sleeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum


class CircuitState(StrEnum):
    CLOSED = "closed"  # calls go through
    OPEN = "open"  # calls are rejected until the cool-down has passed
    HALF_OPEN = "half_open"  # one probe is in flight; the others are rejected


class Admission(StrEnum):
    ALLOW = "allow"  # circuit closed: go ahead
    PROBE = "probe"  # cool-down over: go ahead, and report how it went
    REJECT = "reject"  # circuit open: fail now


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    failure_threshold: int = field(
        default=3, metadata={"help": "consecutive failures that open the circuit"}
    )
    cooldown_s: float = field(
        default=10.0, metadata={"help": "first cool-down before a probe is let through"}
    )
    max_cooldown_s: float = field(
        default=160.0, metadata={"help": "cap on the cool-down, which doubles per failed probe"}
    )

    def __post_init__(self) -> None:
        if self.failure_threshold < 1:
            raise ValueError(f"failure_threshold must be >= 1, got {self.failure_threshold}")
        if self.cooldown_s <= 0:
            raise ValueError(f"cooldown_s must be > 0, got {self.cooldown_s}")
        if self.max_cooldown_s < self.cooldown_s:
            raise ValueError(
                f"max_cooldown_s ({self.max_cooldown_s}) must be >= cooldown_s ({self.cooldown_s})"
            )


class CircuitBreaker:
    def __init__(
        self,
        policy: BreakerPolicy | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy or BreakerPolicy()
        self._clock = clock
        self._lock = threading.Lock()
        self._state = CircuitState.CLOSED
        self._failures = 0
        self._cooldown_s = self.policy.cooldown_s
        self._opened_at = 0.0
        self._probe_started_at = 0.0

    @property
    def state(self) -> CircuitState:
        with self._lock:
            return self._state

    @property
    def consecutive_failures(self) -> int:
        with self._lock:
            return self._failures

    @property
    def cooldown_s(self) -> float:
        """The cool-down now in force (doubles with each failed probe)."""
        with self._lock:
            return self._cooldown_s

    def retry_in(self) -> float:
        """Seconds until a probe will be admitted; 0 when calls go through now."""
        with self._lock:
            if self._state is CircuitState.CLOSED:
                return 0.0
            since = self._opened_at if self._state is CircuitState.OPEN else self._probe_started_at
            return max(0.0, since + self._cooldown_s - self._clock())

    def admit(self) -> Admission:
        """Decide whether a call may go out now. A PROBE must be followed by a record_*()."""
        with self._lock:
            now = self._clock()
            if self._state is CircuitState.CLOSED:
                return Admission.ALLOW
            if self._state is CircuitState.OPEN:
                if now - self._opened_at < self._cooldown_s:
                    return Admission.REJECT
            elif now - self._probe_started_at < self._cooldown_s:
                # A probe is in flight. One that never reported back (its caller died)
                # is replaced after a cool-down, so the circuit cannot stay stuck.
                return Admission.REJECT
            self._state = CircuitState.HALF_OPEN
            self._probe_started_at = now
            return Admission.PROBE

    def record_success(self) -> None:
        with self._lock:
            self._state = CircuitState.CLOSED
            self._failures = 0
            self._cooldown_s = self.policy.cooldown_s

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            now = self._clock()
            if self._state is CircuitState.HALF_OPEN:
                self._cooldown_s = min(self._cooldown_s * 2, self.policy.max_cooldown_s)
                self._state = CircuitState.OPEN
                self._opened_at = now
            elif (
                self._state is CircuitState.CLOSED
                and self._failures >= self.policy.failure_threshold
            ):
                self._state = CircuitState.OPEN
                self._opened_at = now
            # Already OPEN: a late failure of a call admitted earlier; the window stands.
