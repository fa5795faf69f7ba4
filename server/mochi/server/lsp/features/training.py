"""`mochi.train`: submit a job to the daemon (finetune, continual or train-experts),
show its progress as `$/progress`, and put what it publishes in service through the one
place experts change (lsp/experts.py)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from mochi.server.lsp.detached import in_detached_thread
from mochi.server.lsp.experts import load_adapter, refresh_experts
from mochi.server.lsp.progress import run_with_progress
from mochi.server.lsp.server import MochiServer
from mochi.server.trainer_client import TrainerRequestError, TrainerUnavailable
from mochi.server.training_jobs import (
    TRAINING_KINDS,
    JobParamsError,
    follow_job,
    job_params,
    outcome_message,
    published,
)
from mochi.trainer.protocol import JobKind, JobRequest, JobView

log = logging.getLogger(__name__)
KINDS = tuple(kind.value for kind in TRAINING_KINDS)


async def _in_thread(work: Any, *args: Any) -> Any:
    """A request to the daemon (bounded by the client's timeouts)."""
    return await asyncio.to_thread(work, *args)


async def _following(work: Any, *args: Any) -> Any:
    """The event stream blocks for the whole job: not on the model or index threads, and
    not on a thread that `exit` would wait for."""
    return await in_detached_thread(work, *args, name="mochi-training-events")


async def _adopt(ls: MochiServer, name: str, path: str) -> bool:
    """Load the adapter a job published, unless the watch already has."""
    if ls.state.experts.adapters.get(name) == path:
        return True
    return await load_adapter(ls, name, path)


async def follow_training(ls: MochiServer, job: JobView) -> JobView:
    """Progress until the job ends, then hot-load what it published."""
    trainer = ls.state.trainer

    def work(report: Any, should_cancel: Any) -> JobView:
        return follow_job(trainer, job.id, report, should_cancel)

    try:
        final: JobView = await run_with_progress(
            ls, f"mochi: training {job.adapter!r}", work, _following, lambda v: v.state.value
        )
    except (TrainerUnavailable, TrainerRequestError) as exc:
        ls.notify_user(f"lost track of training job {job.id}: {exc}")
        raise
    adapter = published(final)
    if adapter is not None and final.kind is JobKind.TRAIN_EXPERTS:
        await refresh_experts(ls)  # the set in service, when it is the one published
    elif adapter is not None and not await _adopt(ls, adapter.name, adapter.path):
        return final
    kind = types.MessageType.Info if adapter is not None else types.MessageType.Warning
    ls.notify_user(outcome_message(final, ls.state.experts.set_name()), kind)
    return final


def job_request(ls: MochiServer, args: tuple[Any, ...]) -> JobRequest:
    """mochi.train's arguments as a job for the daemon; JsonRpcInvalidParams says which
    argument is wrong."""
    adapter = args[0] if args else "default"
    kind = args[1] if len(args) > 1 else JobKind.FINETUNE.value
    if not isinstance(adapter, str) or not adapter:
        raise JsonRpcInvalidParams("argument 1 (adapter) must be a non-empty string")
    if kind not in KINDS:
        raise JsonRpcInvalidParams(f"argument 2 (kind) must be one of {list(KINDS)}")
    if ls.state.root is None:
        raise JsonRpcInvalidParams(
            "mochi.train trains on the workspace folder, and none is open: open the "
            "repository's folder"
        )
    given = args[2] if len(args) > 2 else None
    try:
        params = job_params(JobKind(kind), ls.state.config.trainer.job_params, given)
    except JobParamsError as exc:
        raise JsonRpcInvalidParams(f"argument 3 (params): {exc}") from None
    return JobRequest(JobKind(kind), str(ls.state.root), adapter, params)


def register(server: MochiServer) -> None:
    @server.command("mochi.train")
    async def train(ls: MochiServer, *args: Any) -> str:
        """Arguments: [adapter (or expert set) name = "default", kind = "finetune" |
        "continual" | "train-experts", params = {} over trainer.job_params (e.g.
        {"rule": "directory", "min_samples": 16})]. Returns the job id at once;
        progress and the result follow."""
        request = job_request(ls, args)
        try:
            job: JobView = await _in_thread(ls.state.trainer.submit, request)
        except (TrainerUnavailable, TrainerRequestError) as exc:
            ls.notify_user(str(exc))
            raise JsonRpcInvalidParams(str(exc)) from None
        task = asyncio.create_task(follow_training(ls, job))
        ls.state.background.add(task)
        task.add_done_callback(ls.state.background.discard)
        return job.id
