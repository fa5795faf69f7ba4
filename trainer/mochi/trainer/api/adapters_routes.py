"""/v1/adapters: the registry's adapters and versions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from starlette.concurrency import run_in_threadpool

from mochi.trainer.api.schemas import NOT_FOUND, AdapterDetail, AdapterOut
from mochi.trainer.registry import AdapterRegistry
from mochi.trainer.registry.store import ADAPTER_NAME


def adapters_router(registry: AdapterRegistry) -> APIRouter:
    router = APIRouter(prefix="/v1/adapters", tags=["adapters"])

    @router.get("", response_model=list[AdapterOut])
    async def list_adapters() -> Any:
        """Every published version of every adapter (`current` marks the ones in service)."""
        views = await run_in_threadpool(registry.all_views)
        return [AdapterOut.of(v) for v in views]

    @router.get("/{name}", response_model=AdapterDetail, responses=NOT_FOUND)
    async def get_adapter(name: str) -> Any:
        views = await run_in_threadpool(registry.views, name) if ADAPTER_NAME.match(name) else []
        if not views:
            raise HTTPException(404, f"no adapter {name!r}")
        current = next((v.version for v in views if v.current), None)
        return AdapterDetail(name=name, current=current, versions=[AdapterOut.of(v) for v in views])

    return router
