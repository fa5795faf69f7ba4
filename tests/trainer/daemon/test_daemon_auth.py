"""Every route wants the bearer token; the token file is private and survives restarts."""

from __future__ import annotations

import re
import stat
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Route

from mochi.trainer.api import create_app
from mochi.trainer.daemon import DaemonConfig, DaemonParts, build_daemon
from mochi.trainer.daemon.token import load_or_create_token
from mochi.trainer.protocol import token_path


def walk(routes: list[Any], prefix: str = "") -> list[tuple[str, str]]:
    found = []
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI's lazily included router
        if included is not None:
            extra = getattr(route.include_context, "prefix", "")
            found += walk(included.routes, prefix + extra)
            continue
        assert isinstance(route, Route | APIRoute), route
        path = re.sub(r"\{[^}]+\}", "x", prefix + route.path)
        found += [(method, path) for method in sorted(route.methods or {"GET"})]
    return found


def every_route(parts: DaemonParts) -> list[tuple[str, str]]:
    """(method, concrete path) of every route the app has, docs and OpenAPI included."""
    return walk(list(create_app(parts).routes))


def test_every_route_refuses_a_missing_or_wrong_token(parts: DaemonParts) -> None:
    routes = every_route(parts)
    paths = {p for _, p in routes}
    assert {"/v1/jobs", "/v1/adapters", "/health", "/metrics", "/openapi.json"} <= paths
    with TestClient(create_app(parts)) as client:
        for method, path in routes:
            for headers in (
                {},
                {"Authorization": "Bearer wrong"},
                {"Authorization": parts.token},  # no scheme
                {"Authorization": f"Bearer {parts.token}x"},
            ):
                response = client.request(method, path, headers=headers)
                assert response.status_code == 401, (method, path, headers)
                assert response.headers["www-authenticate"].startswith("Bearer")
        good = {"Authorization": f"Bearer {parts.token}"}
        assert client.get("/health", headers=good).status_code == 200
        assert client.get("/openapi.json", headers=good).status_code == 200


def test_token_file_is_0600_and_reused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = build_daemon(DaemonConfig(data_dir=data, devices=("cpu",)))
    path = token_path(data)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == first.token and len(first.token) >= 32
    first.stop()
    second = build_daemon(DaemonConfig(data_dir=data, devices=("cpu",)))
    assert second.token == first.token
    second.stop()


def test_a_token_file_readable_by_others_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "trainer-token"
    path.write_text("sekrit\n")
    path.chmod(0o644)
    assert load_or_create_token(path) == "sekrit"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_app_refuses_an_empty_token(parts: DaemonParts) -> None:
    parts.token = ""
    with pytest.raises(ValueError, match="token"):
        app = create_app(parts)
        app.middleware_stack = app.build_middleware_stack()
