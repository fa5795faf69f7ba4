"""The daemon's log lines for a job's progress: every stage's start and end, at most one
line per interval between, with the time left once the rate is known."""

from __future__ import annotations

import logging

import pytest

from mochi.rag.time_left import TimeLeft
from mochi.trainer.jobs.progress_log import ProgressLog, describe


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records]


def test_stage_starts_and_ends_are_logged_and_the_rest_is_throttled(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    log = logging.getLogger("test.progress")
    progress = ProgressLog("j1", log, interval=30.0, clock=clock)
    time_left = TimeLeft(clock)  # as the runner feeds it

    def report(stage: str, done: int, total: int, message: str = "") -> None:
        progress(stage, done, total, message, time_left.seconds(stage, done, total))

    with caplog.at_level(logging.INFO, logger="test.progress"):
        report("train", 0, 100)
        for step in range(1, 100):
            clock.now += 1.0  # 1 s per step: a line at 30 s and at 60 s and at 90 s
            report("train", step, 100)
        clock.now += 1.0
        report("train", 100, 100)
        report("gate: held-out samples", 0, 4, "the new version")
        report("gate: held-out samples", 1, 4, "the new version")
    assert lines(caplog) == [
        "job j1: train 0/100 (0 %)",
        "job j1: train 30/100 (30 %), about 1 min left",
        "job j1: train 60/100 (60 %), about 40 s left",
        "job j1: train 90/100 (90 %), about 10 s left",
        "job j1: train 100/100 (100 %)",
        "job j1: gate: held-out samples 0/4 (0 %): the new version",
    ]


def test_a_stage_without_counts_says_what_it_does() -> None:
    assert describe("dataset", 0, 0, "reading the history") == "dataset: reading the history"
    assert describe("", 0, 0, "") == "working"
    assert describe("fisher", 3, 2, "") == "fisher 3/2 (100 %)"
