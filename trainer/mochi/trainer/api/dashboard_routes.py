"""/dashboard: one self-contained page (inline CSS and JS, no CDN, no build step) that
reads the JSON routes; and /v1/experts, the registry's adapters with what their
manifests say. The token check is in `auth` (the page's session cookie)."""

from __future__ import annotations

import base64
import hashlib
import html
import math
from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from mochi.trainer.api.auth import DASHBOARD_PATH
from mochi.trainer.api.schemas import ExpertOut, ExpertVersionOut
from mochi.trainer.daemon.parts import DaemonParts
from mochi.trainer.protocol import JobView
from mochi.trainer.registry import Manifest


def dashboard_router(parts: DaemonParts) -> APIRouter:
    router = APIRouter(tags=["dashboard"])
    page, policy = dashboard_page(parts.runner.config.jobs_dir)
    headers = {
        "Content-Security-Policy": policy,
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
    }

    @router.get(DASHBOARD_PATH, response_class=HTMLResponse, include_in_schema=False)
    async def dashboard() -> HTMLResponse:
        return HTMLResponse(page, headers=headers)

    @router.get("/v1/experts", response_model=list[ExpertOut])
    async def experts() -> Any:
        """Every adapter ("expert") with its versions as their manifests describe them:
        the commits each learnt, its scores and the scores of the version it replaced."""
        return await run_in_threadpool(_experts, parts)

    return router


def dashboard_page(jobs_dir: Path) -> tuple[str, str]:
    """The page, and a Content-Security-Policy that lets only its own script run."""
    folder = files("mochi.trainer.api") / "dashboard"
    script = (folder / "page.js").read_text(encoding="utf-8")
    page = (
        (folder / "page.html")
        .read_text(encoding="utf-8")
        .replace("/*STYLE*/", (folder / "page.css").read_text(encoding="utf-8"))
        .replace("{{JOBS_DIR}}", html.escape(str(jobs_dir)))
        .replace("/*SCRIPT*/", script)
    )
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    policy = (
        f"default-src 'none'; script-src 'sha256-{digest}'; style-src 'unsafe-inline'; "
        "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )
    return page, policy


def _experts(parts: DaemonParts) -> list[ExpertOut]:
    jobs = {view.id: view for view in parts.store.list()}
    found = []
    for name in parts.registry.names():
        versions = parts.registry.versions(name)
        if not versions:
            continue
        current = parts.registry.current_version(name)
        in_service = next((m for m in versions if m.version == current), versions[-1])
        workspaces = sorted({j.workspace for j in jobs.values() if j.adapter == name})
        found.append(
            ExpertOut(
                name=name,
                current=current,
                base_model=in_service.base_model,
                workspaces=workspaces,
                versions=[_version(m, m.version == current, jobs.get(m.job_id)) for m in versions],
            )
        )
    return found


def _version(manifest: Manifest, current: bool, job: JobView | None) -> ExpertVersionOut:
    return ExpertVersionOut(
        version=manifest.version,
        current=current,
        base_model=manifest.base_model,
        commit=manifest.commit,
        commit_range=list(manifest.commit_range),
        previous_version=manifest.previous_version,
        metrics=_finite(manifest.metrics),
        previous_metrics=_finite(manifest.previous_metrics),
        strategy=manifest.strategy,
        steps=manifest.steps,
        job_id=manifest.job_id,
        job_kind=job.kind.value if job is not None else "",
        created_at=manifest.created_at,
    )


def _finite(scores: dict[str, float]) -> dict[str, float | None]:
    return {k: (v if math.isfinite(v) else None) for k, v in scores.items()}
