"""Schemathesis against the daemon's OpenAPI spec (with the token): no input gives a 5xx,
and every response matches the spec."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from mochi.trainer.api import create_app
from mochi.trainer.daemon import DaemonConfig, build_daemon


@pytest.mark.slow
def test_no_input_gives_a_5xx_and_every_response_matches_the_spec(tmp_path: Path) -> None:
    # the runner is not started: whatever schemathesis manages to queue stays queued
    parts = build_daemon(DaemonConfig(data_dir=tmp_path / "data", devices=("cpu",)))
    app = create_app(parts)
    auth = {"Authorization": f"Bearer {parts.token}"}
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, headers=auth)
    failures: list[str] = []
    calls: dict[str, int] = {}

    for operation in schema.get_all_operations():
        op = operation.ok()

        @settings(
            max_examples=25,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def check(case: schemathesis.Case) -> None:
            key = f"{case.method} {case.path}"
            calls[key] = calls.get(key, 0) + 1
            case.call_and_validate(
                headers=auth,
                checks=[
                    not_a_server_error,
                    status_code_conformance,
                    content_type_conformance,
                    response_schema_conformance,
                ],
            )

        try:
            given(op.as_strategy())(check)()
        except Exception as exc:  # collect all operations' failures, report them together
            failures.append(f"{op.method.upper()} {op.path}: {exc}")
    parts.stop()
    assert len(calls) >= 9 and all(n >= 1 for n in calls.values()), calls
    assert not failures, "\n\n".join(failures)
