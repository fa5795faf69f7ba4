"""/health and /metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool

from mochi.trainer.api.schemas import Health
from mochi.trainer.daemon.parts import DaemonParts
from mochi.trainer.protocol import JobState


def service_router(parts: DaemonParts) -> APIRouter:
    router = APIRouter(tags=["service"])

    @router.get("/health", response_model=Health)
    async def health() -> Any:
        counts = await run_in_threadpool(parts.store.counts)
        queued = sum(n for (_, state), n in counts.items() if state == JobState.QUEUED.value)
        return Health(
            status="ok",
            queued=queued,
            running=len(parts.runner.running()),
            devices=parts.runner.known_devices(),
        )

    @router.get(
        "/metrics",
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus"}},
    )
    async def metrics() -> Response:
        body = await run_in_threadpool(parts.metrics.render)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return router
