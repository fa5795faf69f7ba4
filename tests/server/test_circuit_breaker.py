"""The circuit breaker, on a fake clock: when it opens, how long it stays open, how it
closes again."""

from __future__ import annotations

import pytest

from mochi.server.generation.circuit_breaker import (
    Admission,
    BreakerPolicy,
    CircuitBreaker,
    CircuitState,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def breaker(clock: FakeClock) -> CircuitBreaker:
    policy = BreakerPolicy(failure_threshold=3, cooldown_s=10.0, max_cooldown_s=40.0)
    return CircuitBreaker(policy, clock=clock)


def fail(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        breaker.record_failure()


def test_stays_closed_below_the_threshold(breaker: CircuitBreaker) -> None:
    fail(breaker, 2)
    assert breaker.state is CircuitState.CLOSED
    assert breaker.admit() is Admission.ALLOW
    assert breaker.retry_in() == 0.0


def test_a_success_resets_the_count_of_consecutive_failures(breaker: CircuitBreaker) -> None:
    fail(breaker, 2)
    breaker.record_success()
    fail(breaker, 2)
    assert breaker.state is CircuitState.CLOSED
    assert breaker.consecutive_failures == 2


def test_opens_after_threshold_failures_and_rejects_until_the_cooldown(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    fail(breaker, 3)
    assert breaker.state is CircuitState.OPEN
    assert breaker.admit() is Admission.REJECT
    assert breaker.retry_in() == pytest.approx(10.0)
    clock.advance(9.5)
    assert breaker.admit() is Admission.REJECT
    assert breaker.retry_in() == pytest.approx(0.5)


def test_after_the_cooldown_one_probe_is_admitted(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    fail(breaker, 3)
    clock.advance(10.0)
    assert breaker.admit() is Admission.PROBE
    assert breaker.state is CircuitState.HALF_OPEN
    assert breaker.admit() is Admission.REJECT  # the others wait for the probe


def test_a_successful_probe_closes_the_circuit(breaker: CircuitBreaker, clock: FakeClock) -> None:
    fail(breaker, 3)
    clock.advance(10.0)
    assert breaker.admit() is Admission.PROBE
    breaker.record_success()
    assert breaker.state is CircuitState.CLOSED
    assert breaker.admit() is Admission.ALLOW
    assert breaker.consecutive_failures == 0
    assert breaker.cooldown_s == 10.0


def test_a_failed_probe_reopens_with_a_doubled_cooldown_up_to_the_cap(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    fail(breaker, 3)
    for expected in (20.0, 40.0, 40.0):
        clock.advance(breaker.cooldown_s)
        assert breaker.admit() is Admission.PROBE
        breaker.record_failure()
        assert breaker.state is CircuitState.OPEN
        assert breaker.cooldown_s == expected
        assert breaker.retry_in() == pytest.approx(expected)
        assert breaker.admit() is Admission.REJECT


def test_the_cooldown_resets_once_the_circuit_closes(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    fail(breaker, 3)
    clock.advance(10.0)
    breaker.admit()
    breaker.record_failure()  # cool-down now 20 s
    clock.advance(20.0)
    assert breaker.admit() is Admission.PROBE
    breaker.record_success()
    fail(breaker, 3)
    assert breaker.retry_in() == pytest.approx(10.0)


def test_a_probe_that_never_reports_back_is_replaced_after_a_cooldown(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    fail(breaker, 3)
    clock.advance(10.0)
    assert breaker.admit() is Admission.PROBE
    clock.advance(5.0)
    assert breaker.admit() is Admission.REJECT
    clock.advance(5.0)
    assert breaker.admit() is Admission.PROBE


def test_a_late_failure_does_not_extend_an_open_window(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    fail(breaker, 3)
    clock.advance(6.0)
    breaker.record_failure()  # a call admitted before the circuit opened
    assert breaker.retry_in() == pytest.approx(4.0)


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"failure_threshold": 0}, "failure_threshold"),
        ({"cooldown_s": 0.0}, "cooldown_s"),
        ({"cooldown_s": 10.0, "max_cooldown_s": 5.0}, "max_cooldown_s"),
    ],
)
def test_policy_rejects_bad_values_naming_the_key(kwargs: dict[str, float], key: str) -> None:
    with pytest.raises(ValueError, match=key):
        BreakerPolicy(**kwargs)  # type: ignore[arg-type]
