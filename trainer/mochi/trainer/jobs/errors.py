"""Errors of the job layer; each message says what went wrong and with what."""

from __future__ import annotations


class JobNotFound(KeyError):
    """No job with that id in the store."""

    def __init__(self, job_id: str) -> None:
        super().__init__(job_id)
        self.job_id = job_id

    def __str__(self) -> str:
        return f"no job {self.job_id!r}"


class ParamsError(ValueError):
    """Job parameters that fail validation; `field` is the dotted path of the bad key."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class JobCancelled(RuntimeError):
    """Raised inside a handler that noticed its cancel request."""


class JobFailed(RuntimeError):
    """A handler's explicit failure, with a message meant for the user."""
