"""How the server reaches the training daemon (filled in by the trainer issue)."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol


class TrainerState(StrEnum):
    NOT_CONFIGURED = "not configured"
    UNREACHABLE = "unreachable"
    READY = "ready"


class TrainerUnavailable(RuntimeError):
    """No training daemon is configured or reachable; the message says what to do."""


class TrainingClient(Protocol):
    def state(self) -> TrainerState: ...

    def submit_finetune(self, workspace: str, adapter: str) -> str:
        """Submit a job; returns its id. Raises TrainerUnavailable."""
        ...


class NoTrainer:
    """The client used when `trainer.url` is empty."""

    def state(self) -> TrainerState:
        return TrainerState.NOT_CONFIGURED

    def submit_finetune(self, workspace: str, adapter: str) -> str:
        raise TrainerUnavailable(
            "no training daemon is configured: start one with `mochi trainer serve` and set "
            "trainer.url (and its token) in .mochi.toml or the editor settings"
        )
