"""Following a training job and finding the adapters to load — plain logic, no LSP.

The LSP feature (`lsp/features/training.py`) runs these in a worker thread: the
daemon's event stream blocks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mochi.rag.routing.expert_set import RULES
from mochi.rag.types import Progress
from mochi.server.trainer_client import TrainerUnavailable, TrainingClient
from mochi.trainer.protocol import AdapterView, JobKind, JobView

log = logging.getLogger(__name__)
# The job kinds `mochi.train` starts, each with the params it checks before the daemon
# does (the daemon validates them all and names the field it refuses).
TRAINING_KINDS = (JobKind.FINETUNE, JobKind.CONTINUAL, JobKind.TRAIN_EXPERTS)


class JobParamsError(ValueError):
    """A `mochi.train` param the job kind cannot take; the message names it."""


def job_params(kind: JobKind, configured: Mapping[str, Any], given: object) -> dict[str, Any]:
    """`trainer.job_params` with the command's own params on top, checked for `kind`."""
    if given is None:
        given = {}
    if not isinstance(given, Mapping):
        raise JobParamsError(f"params must be an object, got {given!r}")
    params = {**configured, **given}
    if kind is JobKind.TRAIN_EXPERTS:
        rule = params.get("rule", RULES[0])
        if rule not in RULES:
            raise JobParamsError(f"params.rule must be one of {list(RULES)}, got {rule!r}")
        samples = params.get("min_samples", 1)
        if not isinstance(samples, int) or isinstance(samples, bool) or samples < 1:
            raise JobParamsError(f"params.min_samples must be an integer >= 1, got {samples!r}")
    else:
        extra = sorted({"rule", "min_samples"} & set(given))
        if extra:
            raise JobParamsError(f"params {extra} are for kind 'train-experts' only")
    return params


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
    """What a finished job put into service — an adapter, or for `train-experts` the set
    (its name, version and version folder) — or None (failed, refused by the gate)."""
    result = view.result
    if not result.get("published") or not result.get("path"):
        return None
    return PublishedAdapter(view.adapter, str(result.get("version", "")), str(result["path"]))


def outcome_message(view: JobView, served_set: str = "") -> str:
    """One line for the user about how a training job ended (`served_set`: the name of
    the expert set in service, for a train-experts job)."""
    adapter = published(view)
    if adapter is not None and view.kind is JobKind.TRAIN_EXPERTS:
        experts = ", ".join(sorted(view.result.get("experts") or {}))
        done = f"training done: expert set {adapter.name!r} {adapter.version} published"
        if adapter.name != served_set:
            return f"{done} ({experts}); set routing.expert_set = {adapter.name!r} to serve it"
        return f"{done} and in service ({experts})"
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
