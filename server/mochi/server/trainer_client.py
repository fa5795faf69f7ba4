"""How the server reaches the training daemon: the TrainingClient Protocol, its state,
and the client used when no daemon is configured. The HTTP client is in trainer_http.py."""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from typing import Protocol

from mochi.trainer.protocol import AdapterView, JobKind, JobRequest, JobView


class TrainerState(StrEnum):
    NOT_CONFIGURED = "not configured"
    UNREACHABLE = "unreachable"
    UNAUTHORIZED = "wrong token"
    READY = "ready"


class TrainerUnavailable(RuntimeError):
    """No training daemon is configured or reachable (or it refused the token); the
    message says what to do."""


class TrainerRequestError(RuntimeError):
    """The daemon answered, but refused the request (unknown job, bad params); the message
    carries its explanation. `status` is the HTTP status."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class TrainingClient(Protocol):
    def state(self) -> TrainerState: ...

    def submit(self, request: JobRequest) -> JobView:
        """Queue a job (a `continual` one may come back as the job already waiting)."""
        ...

    def submit_finetune(self, workspace: str, adapter: str) -> str:
        """Submit a job; returns its id. Raises TrainerUnavailable."""
        ...

    def job(self, job_id: str) -> JobView: ...

    def events(self, job_id: str) -> Iterator[JobView]:
        """The job's state and progress as it changes, until it has finished. Blocking:
        call it from a worker thread, never from the LSP event loop."""
        ...

    def cancel(self, job_id: str) -> JobView: ...

    def adapters(self) -> list[AdapterView]: ...


NOT_CONFIGURED_MESSAGE = (
    "no training daemon is configured: start one with `mochi trainer serve` and set "
    "trainer.url (and its token) in .mochi.toml or the editor settings"
)


class NoTrainer:
    """The client used when `trainer.url` is empty."""

    def state(self) -> TrainerState:
        return TrainerState.NOT_CONFIGURED

    def submit(self, request: JobRequest) -> JobView:
        raise TrainerUnavailable(NOT_CONFIGURED_MESSAGE)

    def submit_finetune(self, workspace: str, adapter: str) -> str:
        return self.submit(JobRequest(JobKind.FINETUNE, workspace, adapter)).id

    def job(self, job_id: str) -> JobView:
        raise TrainerUnavailable(NOT_CONFIGURED_MESSAGE)

    def events(self, job_id: str) -> Iterator[JobView]:
        raise TrainerUnavailable(NOT_CONFIGURED_MESSAGE)

    def cancel(self, job_id: str) -> JobView:
        raise TrainerUnavailable(NOT_CONFIGURED_MESSAGE)

    def adapters(self) -> list[AdapterView]:
        raise TrainerUnavailable(NOT_CONFIGURED_MESSAGE)
