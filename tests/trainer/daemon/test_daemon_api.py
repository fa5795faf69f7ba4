"""The HTTP API with stand-in handlers: validation, debounce, SSE, cancel, metrics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from daemon_helpers import LiveDaemon, StepHandler, wait_for

from mochi.trainer.daemon import DaemonParts
from mochi.trainer.protocol import JobState


def client(live: LiveDaemon) -> httpx.Client:
    return httpx.Client(
        base_url=live.url, headers={"Authorization": f"Bearer {live.token}"}, timeout=10
    )


def submit(http: httpx.Client, workspace: Path, kind: str = "finetune", **params: Any) -> Any:
    return http.post("/v1/jobs", json={"kind": kind, "workspace": str(workspace), "params": params})


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "finetune", "workspace": "relative/path"}, "workspace"),
        ({"kind": "finetune", "workspace": "/no/such/folder"}, "workspace"),
        ({"kind": "bake", "workspace": "WS"}, "kind"),
        ({"kind": "finetune", "workspace": "WS", "adapter": "../evil"}, "adapter"),
        ({"kind": "finetune", "workspace": "WS", "params": {"bogus": 1}}, "bogus"),
        (
            {"kind": "finetune", "workspace": "WS", "params": {"gate_tolerance": -1}},
            "gate_tolerance",
        ),
        ({"kind": "finetune", "workspace": "WS", "params": {"train": {"rank": 0}}}, "rank"),
        ({"kind": "finetune", "workspace": "WS", "params": {"train": {"rnk": 4}}}, "rnk"),
        ({"kind": "finetune", "workspace": "WS", "params": {"train": {"rank": "x"}}}, "rank"),
        ({"kind": "eval", "workspace": "WS", "params": {"dataset": {"fim_rate": 2}}}, "fim_rate"),
        ({"kind": "eval", "workspace": "WS", "params": {"version": "latest"}}, "version"),
        ({"kind": "build-dataset", "workspace": "WS", "params": {"train": {}}}, "train"),
        ({"kind": "eval", "workspace": "WS", "params": {"base_model": "rel"}}, "base_model"),
    ],
)
def test_bad_requests_get_a_4xx_naming_the_field(
    live_daemon: LiveDaemon, workspace: Path, body: dict[str, Any], field: str
) -> None:
    body = json.loads(json.dumps(body).replace('"WS"', json.dumps(str(workspace))))
    with client(live_daemon) as http:
        response = http.post("/v1/jobs", json=body)
        assert response.status_code == 422, response.text
        locations = [".".join(map(str, d["loc"])) for d in response.json()["detail"]]
        assert any(field in loc for loc in locations), locations
        assert http.get("/v1/jobs").json() == []  # nothing was queued


def test_unknown_job_is_404(live_daemon: LiveDaemon) -> None:
    with client(live_daemon) as http:
        for method, path in [
            ("GET", "/v1/jobs/nope"),
            ("POST", "/v1/jobs/nope/cancel"),
            ("GET", "/v1/jobs/nope/events"),
            ("GET", "/v1/adapters/nope"),
        ]:
            response = http.request(method, path)
            assert response.status_code == 404, (path, response.text)
        assert http.get("/v1/jobs", params={"state": "sleeping"}).status_code == 422


def test_sse_delivers_progress_then_the_final_state(
    live_daemon: LiveDaemon, workspace: Path, step_handler: StepHandler
) -> None:
    step_handler.release.set()
    with client(live_daemon) as http:
        job = submit(http, workspace).json()
        events = []
        with http.stream("GET", f"/v1/jobs/{job['id']}/events") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            event = ""
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    events.append((event, json.loads(line[5:])))
    states = [data["state"] for _, data in events]
    progress = [data["progress"]["done"] for kind, data in events if kind == "progress"]
    assert states[-1] == "succeeded" and events[-1][0] == "state"
    assert events[-1][1]["result"]["published"] is True
    assert progress and progress == sorted(progress) and max(progress) <= 3
    assert "running" in states


def test_cancel_frees_the_slot_for_the_next_job(
    live_daemon: LiveDaemon, workspace: Path, step_handler: StepHandler
) -> None:
    with client(live_daemon) as http:
        first = submit(http, workspace).json()
        second = submit(http, workspace, "eval").json()
        wait_for(lambda: http.get(f"/v1/jobs/{first['id']}").json()["state"] == "running")
        assert http.get(f"/v1/jobs/{second['id']}").json()["state"] == "queued"  # 1 per device
        assert http.post(f"/v1/jobs/{first['id']}/cancel").status_code == 200
        wait_for(lambda: http.get(f"/v1/jobs/{first['id']}").json()["state"] == "cancelled")
        wait_for(lambda: http.get(f"/v1/jobs/{second['id']}").json()["state"] == "running")
        step_handler.release.set()
        wait_for(lambda: http.get(f"/v1/jobs/{second['id']}").json()["state"] == "succeeded")
        assert step_handler.started == [first["id"], second["id"]]


def test_a_waiting_continual_job_is_returned_instead_of_a_second_one(
    live_daemon: LiveDaemon, workspace: Path
) -> None:
    with client(live_daemon) as http:
        blocker = submit(http, workspace).json()  # holds the only slot
        wait_for(lambda: http.get(f"/v1/jobs/{blocker['id']}").json()["state"] == "running")
        first = submit(http, workspace, "continual").json()
        again = submit(http, workspace, "continual").json()
        assert again["id"] == first["id"]
        queued = http.get("/v1/jobs", params={"state": "queued"}).json()
        assert [j["id"] for j in queued] == [first["id"]]


def test_metrics_count_jobs_by_kind_and_state(
    live_daemon: LiveDaemon, workspace: Path, step_handler: StepHandler
) -> None:
    step_handler.release.set()
    with client(live_daemon) as http:
        job = submit(http, workspace).json()
        wait_for(lambda: http.get(f"/v1/jobs/{job['id']}").json()["state"] == "succeeded")
        text = http.get("/metrics").text
    assert 'mochi_trainer_jobs{kind="finetune",state="succeeded"} 1.0' in text
    assert "mochi_trainer_queue_depth 0.0" in text
    assert 'mochi_trainer_job_duration_seconds_count{kind="finetune",state="succeeded"} 1.0' in text


def test_health_and_a_restart_resumes_a_running_job(
    parts: DaemonParts, workspace: Path, step_handler: StepHandler
) -> None:
    from mochi.trainer.protocol import JobKind, JobRequest

    view, _ = parts.store.submit(JobRequest(JobKind.FINETUNE, str(workspace)))
    parts.start()
    wait_for(lambda: parts.store.get(view.id).state == JobState.RUNNING)
    assert parts.runner.stop() == []  # the job stopped at its next step: back in the queue
    stopped = parts.store.get_stored(view.id)
    assert stopped.view.state == JobState.QUEUED and stopped.resume
    step_handler.release.set()
    assert parts.start() == []  # nothing left RUNNING for recover() to requeue
    wait_for(lambda: parts.store.get(view.id).state == JobState.SUCCEEDED)
    assert parts.store.get(view.id).result["resumed"] is True
