"""The dashboard's routes on a live daemon: a job's loss history, the experts, and the
page behind the token (once in the URL, then an HttpOnly SameSite=Strict session cookie
that opens only reads)."""

from __future__ import annotations

import os
from http.cookies import SimpleCookie

import httpx
from daemon_helpers import LiveDaemon
from dashboard_jobs import SampleJobs
from mochi_cli import mochi

from mochi.trainer.api.auth import SESSION_COOKIE, session_cookie_value


def bearer(live: LiveDaemon) -> httpx.Client:
    headers = {"Authorization": f"Bearer {live.token}"}
    return httpx.Client(base_url=live.url, headers=headers, timeout=10)


def browser(live: LiveDaemon) -> httpx.Client:
    """What a browser does: no Authorization header, cookies kept, no redirects followed."""
    return httpx.Client(base_url=live.url, timeout=10, follow_redirects=False)


def test_the_metrics_route_gives_every_step_of_a_job(live: LiveDaemon, sample: SampleJobs) -> None:
    with bearer(live) as http:
        for job_id, count in sample.steps.items():
            body = http.get(f"/v1/jobs/{job_id}/metrics").json()
            assert body["job_id"] == job_id
            assert [s["step"] for s in body["steps"]] == list(range(1, count + 1))
            assert all(s["loss"] > 0 and s["lr"] > 0 for s in body["steps"])
        assert http.get(f"/v1/jobs/{sample.queued_job}/metrics").json()["steps"] == []
        assert http.get("/v1/jobs/no-such-job/metrics").status_code == 404
    with browser(live) as anonymous:
        assert anonymous.get(f"/v1/jobs/{sample.v1_job}/metrics").status_code == 401


def test_the_experts_route_says_what_each_version_learnt(
    live: LiveDaemon, sample: SampleJobs
) -> None:
    with bearer(live) as http:
        experts = http.get("/v1/experts").json()
    assert [e["name"] for e in experts] == ["default"]  # "docs" never published anything
    expert = experts[0]
    assert expert["current"] == "v2" and expert["workspaces"] == [str(sample.workspace)]
    v1, v2 = expert["versions"]
    assert (v1["version"], v1["job_kind"], v1["current"]) == ("v1", "finetune", False)
    assert (v2["version"], v2["job_kind"], v2["current"]) == ("v2", "continual", True)
    assert v2["previous_version"] == "v1" and v2["commit_range"][0] == v2["commit"]
    assert len(v1["commit_range"]) == 2 and v1["commit_range"][1] == v1["commit"]
    new, old = v2["metrics"], v2["previous_metrics"]
    assert new["future_edit_similarity"] > old["future_edit_similarity"]


def test_the_page_wants_the_token_once_then_a_session_cookie(live: LiveDaemon) -> None:
    with browser(live) as http:
        for url in ("/dashboard", "/dashboard?token=wrong", "/dashboard?token="):
            refused = http.get(url)
            assert refused.status_code == 401, url
            assert refused.headers["content-type"].startswith("text/html")
            assert refused.headers["www-authenticate"].startswith("Bearer")
            assert "token" in refused.text
        assert http.get("/v1/jobs").status_code == 401

        login = http.get(f"/dashboard?token={live.token}")
        assert login.status_code == 303 and login.headers["location"] == "/dashboard"
        assert login.headers["referrer-policy"] == "no-referrer"
        cookie = SimpleCookie(login.headers["set-cookie"])[SESSION_COOKIE]
        assert cookie["httponly"] is True and cookie["samesite"] == "Strict"
        assert cookie["path"] == "/" and not cookie["max-age"]  # gone with the browser session
        assert cookie.value == session_cookie_value(live.token) != live.token

        page = http.get("/dashboard")  # the client kept the cookie
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "script-src 'sha256-" in page.headers["content-security-policy"]
        assert 'id="jobs"' in page.text and "/v1/experts" in page.text
        assert "tensorboard --logdir" in page.text
        assert http.get("/v1/jobs").status_code == 200
        assert http.get("/v1/experts").status_code == 200

        # the cookie opens reads only: a page elsewhere on this host cannot queue or cancel
        body = {"kind": "finetune", "workspace": "/tmp"}
        assert http.post("/v1/jobs", json=body).status_code == 401
        assert http.post("/v1/jobs/x/cancel").status_code == 401

    with browser(live) as other:
        other.cookies.set(SESSION_COOKIE, session_cookie_value("another token"))
        assert other.get("/dashboard").status_code == 401
        assert other.get("/v1/jobs").status_code == 401


def test_the_page_is_not_in_the_api_spec_but_the_data_routes_are(live: LiveDaemon) -> None:
    with bearer(live) as http:
        paths = http.get("/openapi.json").json()["paths"]
    assert "/dashboard" not in paths
    assert {"/v1/experts", "/v1/jobs/{job_id}/metrics"} <= set(paths)


def test_mochi_trainer_dashboard_prints_the_address_that_logs_in(live: LiveDaemon) -> None:
    data = live.parts.config.data_dir
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOCHI_TRAINER_")}
    done = mochi("trainer", "dashboard", "--url", live.url, "--data-dir", str(data), env=env)
    assert done.returncode == 0, done.stderr
    address = done.stdout.strip()
    assert address == f"{live.url}/dashboard?token={live.token}"  # the file's token
    with browser(live) as http:
        assert http.get(address).status_code == 303
        assert http.get("/dashboard").status_code == 200
