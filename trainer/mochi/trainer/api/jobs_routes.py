"""/v1/jobs: submit, list, get, cancel, follow, and a job's loss history."""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from mochi.trainer.api.events import job_events
from mochi.trainer.api.schemas import (
    NOT_FOUND,
    JobOut,
    JobRequestBody,
    LossHistoryOut,
    StepOut,
)
from mochi.trainer.daemon.parts import DaemonParts
from mochi.trainer.jobs.errors import JobNotFound, ParamsError
from mochi.trainer.jobs.params import validate_params
from mochi.trainer.protocol import JobKind, JobState
from mochi.trainer.training.history import read_history

UNPROCESSABLE: dict[int | str, dict[str, Any]] = {
    422: {"description": "invalid request; `detail[].loc` names the field"},
}


def jobs_router(parts: DaemonParts) -> APIRouter:
    router = APIRouter(prefix="/v1/jobs", tags=["jobs"])
    store, runner = parts.store, parts.runner

    @router.post("", response_model=JobOut, responses=UNPROCESSABLE)
    async def submit(body: JobRequestBody) -> Any:
        """Queue a job. A `continual` job for a workspace and adapter that already have one
        waiting is not queued twice: the waiting job is returned (debounce)."""
        try:
            validate_params(body.kind, body.params)
        except ParamsError as exc:
            return JSONResponse(
                status_code=422,
                content={
                    "detail": [
                        {
                            "loc": ["body", *exc.field.split(".")],
                            "msg": exc.message,
                            "type": "value_error",
                        }
                    ]
                },
            )
        request = body.to_request()
        view, _ = await run_in_threadpool(
            store.submit, request, debounce=request.kind == JobKind.CONTINUAL
        )
        runner.wake()
        return JobOut.of(view)

    @router.get("", response_model=list[JobOut], responses=UNPROCESSABLE)
    async def list_jobs(state: JobState | None = None) -> Any:
        views = await run_in_threadpool(store.list, state)
        return [JobOut.of(v) for v in views]

    @router.get("/{job_id}", response_model=JobOut, responses=NOT_FOUND)
    async def get_job(job_id: str) -> Any:
        try:
            return JobOut.of(await run_in_threadpool(store.get, job_id))
        except JobNotFound as exc:
            raise HTTPException(404, str(exc)) from None

    @router.post("/{job_id}/cancel", response_model=JobOut, responses=NOT_FOUND)
    async def cancel_job(job_id: str) -> Any:
        """Cancel a queued job at once, or ask a running one to stop (it ends CANCELLED)."""
        try:
            return JobOut.of(await run_in_threadpool(runner.cancel, job_id))
        except JobNotFound as exc:
            raise HTTPException(404, str(exc)) from None

    @router.get("/{job_id}/metrics", response_model=LossHistoryOut, responses=NOT_FOUND)
    async def job_metrics(job_id: str) -> Any:
        """The training loss and learning rate of every optimizer step so far (the loop
        writes them to `loss.jsonl` in the job's folder as it goes)."""
        try:
            await run_in_threadpool(store.get, job_id)
        except JobNotFound as exc:
            raise HTTPException(404, str(exc)) from None
        records = await run_in_threadpool(read_history, runner.config.jobs_dir / job_id)
        steps = [
            StepOut(
                step=r.step,
                loss=r.loss if math.isfinite(r.loss) else None,
                lr=r.lr,
                time=r.time,
            )
            for r in records
        ]
        return LossHistoryOut(job_id=job_id, steps=steps)

    @router.get(
        "/{job_id}/events",
        response_class=StreamingResponse,
        responses={
            200: {"content": {"text/event-stream": {}}, "description": "SSE stream"},
            **NOT_FOUND,
        },
    )
    async def follow_job(job_id: str) -> StreamingResponse:
        """Server-sent events: `state` and `progress` events (data: the job as JSON) until
        the job has finished."""
        try:
            await run_in_threadpool(store.get, job_id)
        except JobNotFound as exc:
            raise HTTPException(404, str(exc)) from None
        return StreamingResponse(
            job_events(store, job_id, parts.config.poll_seconds),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return router
