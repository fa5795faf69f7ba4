"""The time left shown with long work's progress (`$/progress` messages)."""

from __future__ import annotations

from mochi.rag.time_left import TimeLeft


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_estimate_follows_the_rate_of_the_current_stage() -> None:
    clock = Clock()
    left = TimeLeft(clock)
    assert left.estimate("index", 0, 1000) == ""  # the stage starts
    clock.now += 1
    assert left.estimate("index", 10, 1000) == ""  # too early: 1 s
    clock.now += 9
    assert left.estimate("index", 100, 1000) == "about 2 min left"  # 10 s per 100, 900 to go
    clock.now += 80
    assert left.estimate("index", 900, 1000) == "about 10 s left"
    assert left.estimate("index", 1000, 1000) == ""  # done

    assert left.estimate("density", 0, 50) == ""  # a new stage: a new estimate
    clock.now += 3
    assert left.estimate("density", 1, 50) == "about 2 min left"
    clock.now += 4000
    assert left.estimate("density", 2, 50) == "about 26.7 h left"  # 2,001.5 s per item, 48 to go


def test_nothing_is_claimed_without_counts() -> None:
    clock = Clock()
    left = TimeLeft(clock)
    assert left.estimate("scan", 0, 0) == ""
    clock.now += 30
    assert left.estimate("scan", 5, 0) == ""  # no total
    assert left.estimate("train", 3, 10) == ""  # a new stage
    clock.now += 30
    assert left.estimate("train", 3, 10) == ""  # no step since
    assert left.estimate("train", 1, 10) == ""  # went back (a resumed job): starts again
    clock.now += 10
    assert left.estimate("train", 2, 10) == "about 1 min left"  # 10 s per step, 8 to go
