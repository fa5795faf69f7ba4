"""A real finetune on the tiny random Llama, through a live daemon: the loss history the
dashboard reads is the loop's, step by step, and TensorBoard has the same values plus
the eval gate's scores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from code_repo import make_code_repo
from daemon_helpers import LiveDaemon, wait_for
from live_daemon import serve_parts
from tensorboard_events import read_scalars

from mochi.trainer.daemon import DaemonConfig, build_daemon
from mochi.trainer.registry import Manifest
from mochi.trainer.training.history import TENSORBOARD_DIR

pytestmark = pytest.mark.slow

TRAIN = {
    "max_steps": 6,
    "learning_rate": 0.02,
    "batch_size": 2,
    "rank": 4,
    "alpha": 8,
    "max_seq_len": 128,
    "warmup_steps": 0,
    "fisher_samples": 2,
    "replay_size": 4,
}
FINISHED = ("succeeded", "failed", "cancelled")
DATASET = {"samples_per_unit": 1, "max_commits": 10, "eval_fraction": 0.3, "context_rate": 0.0}


@pytest.fixture
def live(tmp_path: Path, tiny_model_dir: Path) -> Iterator[LiveDaemon]:
    config = DaemonConfig(
        data_dir=tmp_path / "data", base_model=tiny_model_dir, devices=("cpu",), poll_seconds=0.05
    )
    parts = build_daemon(config)  # the real handlers
    try:
        with serve_parts(parts) as live:
            yield live
    finally:
        parts.stop()


def test_a_finetune_leaves_its_loss_history_and_tensorboard_events(
    live: LiveDaemon, tmp_path: Path
) -> None:
    repo = make_code_repo(tmp_path / "repo")
    headers = {"Authorization": f"Bearer {live.token}"}
    with httpx.Client(base_url=live.url, headers=headers, timeout=10) as http:
        params = {"train": TRAIN, "dataset": DATASET}
        body = {"kind": "finetune", "workspace": str(repo.root), "params": params}
        job_id = http.post("/v1/jobs", json=body).json()["id"]
        wait_for(
            lambda: http.get(f"/v1/jobs/{job_id}").json()["state"] in FINISHED,
            timeout=300,
            what="the finetune",
        )
        job = http.get(f"/v1/jobs/{job_id}").json()
        assert job["state"] == "succeeded", job["error"]
        steps = http.get(f"/v1/jobs/{job_id}/metrics").json()["steps"]
        experts = http.get("/v1/experts").json()

    result = job["result"]
    assert [s["step"] for s in steps] == list(range(1, 7)) and result["steps"] == 6
    losses = [s["loss"] for s in steps]
    assert sum(losses) / len(losses) == pytest.approx(result["train_loss"])  # the loop's own
    assert [s["lr"] for s in steps] == sorted((s["lr"] for s in steps), reverse=True)
    assert steps[0]["lr"] == pytest.approx(TRAIN["learning_rate"])

    events = read_scalars(live.parts.runner.config.jobs_dir / job_id / TENSORBOARD_DIR)
    assert events["train/loss"] == pytest.approx(dict(enumerate(losses, start=1)), rel=1e-6)
    assert events["gate/candidate/loss"] == pytest.approx({6: result["metrics"]["loss"]}, rel=1e-6)
    assert events["gate/published"] == {6: 1.0 if result["published"] else 0.0}

    assert result["published"] is True  # the first version: nothing in service to beat
    (expert,) = experts
    (version,) = expert["versions"]
    manifest = Manifest.read(Path(result["path"]))
    assert (version["version"], version["job_kind"], version["current"]) == ("v1", "finetune", True)
    assert version["commit_range"] == manifest.commit_range and version["steps"] == 6
    assert expert["workspaces"] == [str(repo.root)]
