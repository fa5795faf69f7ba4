"""`create_app(parts)`: the FastAPI app of one daemon, every route behind the token and
the body limits (the dashboard page too)."""

from __future__ import annotations

from fastapi import FastAPI, Security
from fastapi.security import HTTPBearer

from mochi.trainer.api.adapters_routes import adapters_router
from mochi.trainer.api.auth import BearerTokenMiddleware
from mochi.trainer.api.body_limits import BodyLimitMiddleware
from mochi.trainer.api.dashboard_routes import dashboard_router
from mochi.trainer.api.jobs_routes import jobs_router
from mochi.trainer.api.schemas import ERRORS
from mochi.trainer.api.service_routes import service_router
from mochi.trainer.daemon.parts import DaemonParts

API_VERSION = "1"


def create_app(parts: DaemonParts) -> FastAPI:
    # The middleware enforces the token on everything (OpenAPI and docs too); the
    # HTTPBearer dependency only declares it in the spec.
    documented = [Security(HTTPBearer(auto_error=False, description="see `mochi trainer serve`"))]
    app = FastAPI(
        title="mochi training daemon",
        version=API_VERSION,
        dependencies=documented,
        responses=ERRORS,
    )
    app.include_router(jobs_router(parts))
    app.include_router(adapters_router(parts.registry))
    app.include_router(service_router(parts))
    app.include_router(dashboard_router(parts))
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=parts.config.max_body_bytes,
        timeout=parts.config.body_timeout_seconds,
    )
    app.add_middleware(BearerTokenMiddleware, token=parts.token)  # the outer one: first
    app.state.parts = parts
    return app
