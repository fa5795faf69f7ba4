"""SIGTERM or SIGINT to `mochi trainer serve` while a finetune trains: the job stops at
its next step and writes a checkpoint, goes back to the queue, and the daemon exits 0;
started again, the daemon resumes the job from that checkpoint."""

from __future__ import annotations

import signal
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import httpx
import pytest
from code_repo import make_code_repo
from daemon_helpers import wait_for
from daemon_process import DaemonProcess

pytestmark = pytest.mark.slow

MAX_STEPS = 40  # ms a step on an idle machine, about 1 s on a loaded one
PARAMS = {
    # checkpoint_every 0: no periodic checkpoint, so one on disk comes from the stop
    "train": {
        "max_steps": MAX_STEPS,
        "checkpoint_every": 0,
        "batch_size": 2,
        "rank": 4,
        "alpha": 8,
        "max_seq_len": 64,
        "learning_rate": 0.01,
        "warmup_steps": 0,
        "fisher_samples": 2,
        "replay_size": 4,
    },
    "dataset": {"samples_per_unit": 1, "max_commits": 5, "eval_fraction": 0.3},
}
EXIT_WITHIN = 20.0  # seconds from the signal to the exit (a tiny model's step is ms)


def training_step(http: httpx.Client, job_id: str) -> int:
    job = http.get(f"/v1/jobs/{job_id}").json()
    assert job["state"] in ("queued", "running"), job
    return int(job["progress"]["done"]) if job["progress"]["stage"] == "train" else 0


def checkpoint_steps(daemon: DaemonProcess, job_id: str) -> list[int]:
    folder = daemon.xdg / "mochi" / "trainer" / "jobs" / job_id / "train" / "checkpoints"
    return [int(p.name.removeprefix("step-")) for p in sorted(folder.glob("step-*"))]


def stored_state(daemon: DaemonProcess, job_id: str) -> tuple[str, int]:
    with closing(sqlite3.connect(daemon.xdg / "mochi" / "trainer" / "jobs.sqlite3")) as db:
        row = db.execute("SELECT state, resume FROM jobs WHERE id = ?", (job_id,)).fetchone()
    return str(row[0]), int(row[1])


def stop_while_training(daemon: DaemonProcess, repo: Path, sig: signal.Signals) -> str:
    """Start a finetune, send `sig` once it trains; check the daemon's exit and what it
    left: one checkpoint, written by the stop, and the job queued to resume."""
    http = daemon.start()
    body = {"kind": "finetune", "workspace": str(repo), "params": PARAMS}
    job_id: str = http.post("/v1/jobs", json=body).json()["id"]
    wait_for(lambda: training_step(http, job_id) >= 2, timeout=300, what="training")

    assert daemon.proc is not None
    signalled = time.monotonic()
    daemon.proc.send_signal(sig)
    code = daemon.proc.wait(EXIT_WITHIN + 30)
    took = time.monotonic() - signalled
    assert code == 0, daemon.log()
    assert took < EXIT_WITHIN, took
    saved = checkpoint_steps(daemon, job_id)
    assert len(saved) == 1 and 2 <= saved[0] < MAX_STEPS, saved
    assert stored_state(daemon, job_id) == ("queued", 1)
    return job_id


def test_sigterm_checkpoints_the_running_job_and_the_next_start_resumes_it(
    daemon: DaemonProcess, tmp_path: Path
) -> None:
    repo = make_code_repo(tmp_path / "repo")
    job_id = stop_while_training(daemon, repo.root, signal.SIGTERM)
    saved = checkpoint_steps(daemon, job_id)

    http = daemon.start()
    wait_for(
        lambda: http.get(f"/v1/jobs/{job_id}").json()["state"] in ("succeeded", "failed"),
        timeout=300,
        what="the resumed job",
    )
    job = http.get(f"/v1/jobs/{job_id}").json()
    assert job["state"] == "succeeded", (job, daemon.log())
    assert job["result"]["resumed_from_step"] == saved[0]
    assert job["result"]["steps"] == MAX_STEPS


def test_sigint_does_the_same(daemon: DaemonProcess, tmp_path: Path) -> None:
    # what the next start does with the queued job is the same as after SIGTERM
    stop_while_training(daemon, make_code_repo(tmp_path / "repo").root, signal.SIGINT)
