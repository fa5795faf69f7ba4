"""`mochi.train` and trained adapters: submit a job to the daemon, show its progress
as `$/progress`, and hot-load the adapter it publishes (and, at start-up, the versions
the daemon has in service)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from mochi.server.generation import GenerationError
from mochi.server.lsp.detached import in_detached_thread
from mochi.server.lsp.progress import run_with_progress
from mochi.server.lsp.server import MochiServer
from mochi.server.trainer_client import TrainerRequestError, TrainerUnavailable
from mochi.server.training_jobs import (
    current_adapters,
    follow_job,
    outcome_message,
    published,
)
from mochi.trainer.protocol import JobKind, JobRequest, JobView

log = logging.getLogger(__name__)
KINDS = (JobKind.FINETUNE.value, JobKind.CONTINUAL.value)


async def _in_thread(work: Any, *args: Any) -> Any:
    """A request to the daemon (bounded by the client's timeouts)."""
    return await asyncio.to_thread(work, *args)


async def _following(work: Any, *args: Any) -> Any:
    """The event stream blocks for the whole job: not on the model or index threads, and
    not on a thread that `exit` would wait for."""
    return await in_detached_thread(work, *args, name="mochi-training-events")


async def load_adapter(ls: MochiServer, name: str, path: str) -> bool:
    generator = ls.state.generator
    if generator is None:
        return False
    try:
        await ls.state.run_model(generator.load_adapter, name, path)
    except GenerationError as exc:
        ls.notify_user(f"cannot load adapter {name!r} from {path}: {exc}")
        return False
    ls.state.rebuild_engine()
    return True


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
    if adapter is not None and not await load_adapter(ls, adapter.name, adapter.path):
        return final
    kind = types.MessageType.Info if adapter is not None else types.MessageType.Warning
    ls.notify_user(outcome_message(final), kind)
    return final


async def load_trained_adapters(ls: MochiServer) -> None:
    """At start-up: load the daemon's current versions not configured by hand."""
    configured = set(ls.state.config.model.adapters)
    views = await _in_thread(current_adapters, ls.state.trainer)
    for view in views:
        if view.name not in configured:
            await load_adapter(ls, view.name, view.path)


def register(server: MochiServer) -> None:
    @server.command("mochi.train")
    async def train(ls: MochiServer, *args: Any) -> str:
        """Arguments: [adapter name = "default", kind = "finetune" | "continual"].
        Returns the job id at once; progress and the result follow."""
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
        params = dict(ls.state.config.trainer.job_params)
        request = JobRequest(JobKind(kind), str(ls.state.root), adapter, params)
        try:
            job: JobView = await _in_thread(ls.state.trainer.submit, request)
        except (TrainerUnavailable, TrainerRequestError) as exc:
            ls.notify_user(str(exc))
            raise JsonRpcInvalidParams(str(exc)) from None
        task = asyncio.create_task(follow_training(ls, job))
        ls.state.background.add(task)
        task.add_done_callback(ls.state.background.discard)
        return job.id
