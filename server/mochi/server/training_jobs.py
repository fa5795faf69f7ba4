"""Following a training job and finding the adapters to load — plain logic, no LSP.

The LSP feature (`lsp/features/training.py`) runs these in a worker thread: the
daemon's event stream blocks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from mochi.rag.types import Progress
from mochi.server.trainer_client import TrainerUnavailable, TrainingClient
from mochi.trainer.protocol import AdapterView, JobView

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PublishedAdapter:
    name: str
    version: str
    path: str


def follow_job(
    trainer: TrainingClient,
    job_id: str,
    report: Callable[[Progress], None],
    should_cancel: Callable[[], bool],
) -> JobView:
    """Report the job's progress until it finishes; the client's cancel cancels the job."""
    last: JobView | None = None
    cancel_sent = False
    for view in trainer.events(job_id):
        last = view
        p = view.progress
        report(Progress(p.stage or view.state.value, p.done, p.total, p.message))
        if should_cancel() and not cancel_sent:
            trainer.cancel(job_id)
            cancel_sent = True
    return last if last is not None and last.state.finished else trainer.job(job_id)


def published(view: JobView) -> PublishedAdapter | None:
    """The adapter a finished job put into service, or None (failed, refused by the gate)."""
    result = view.result
    if not result.get("published") or not result.get("path"):
        return None
    return PublishedAdapter(view.adapter, str(result.get("version", "")), str(result["path"]))


def outcome_message(view: JobView) -> str:
    """One line for the user about how a training job ended."""
    adapter = published(view)
    if adapter is not None:
        return f"training done: adapter {adapter.name!r} {adapter.version} published and loaded"
    if view.state.value == "succeeded":
        reason = view.result.get("reason") or "the eval gate kept it out of service"
        return f"training done, adapter {view.adapter!r} not published: {reason}"
    if view.error:
        return f"training {view.state.value}: {view.error}"
    return f"training {view.state.value}"


def current_adapters(trainer: TrainingClient) -> list[AdapterView]:
    """The versions in service in the daemon's registry ([] when it cannot be reached)."""
    try:
        return [a for a in trainer.adapters() if a.current]
    except (TrainerUnavailable, RuntimeError) as exc:
        log.info("no trained adapters from the daemon: %s", exc)
        return []
