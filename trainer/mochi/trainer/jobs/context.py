"""What a job handler gets from the runner, and the shape of a handler."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from mochi.trainer.protocol import JobKind, JobView

ProgressFn = Callable[[str, int, int], None]


@dataclass(frozen=True)
class JobContext:
    """The runner's side of one job run."""

    job: JobView
    workdir: Path  # <data_dir>/trainer/jobs/<id>/, kept across restarts
    device: str  # "cpu" or "cuda:N"
    resume: bool  # a restarted daemon picked this job up again
    report: Callable[[str, int, int, str], None]  # (stage, done, total, message)
    should_cancel: Callable[[], bool]

    def progress(self, stage: str, done: int, total: int) -> None:
        """The `(stage, done, total) -> None` callback the datasets/training code takes."""
        self.report(stage, done, total, "")


class JobHandler(Protocol):
    """Runs one job and returns its result (JSON-able). Raises to fail the job; the runner
    marks it CANCELLED instead when its cancel was requested."""

    def __call__(self, ctx: JobContext) -> dict[str, Any]: ...


Handlers = Mapping[JobKind, JobHandler]
