"""`mochi trainer serve` as users start it: kill -9 in the middle of a finetune, start it
again, and the job resumes from its checkpoint and ends as an uninterrupted run would."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import httpx
import pytest
from code_repo import make_code_repo
from daemon_helpers import wait_for
from daemon_process import DaemonProcess

pytestmark = pytest.mark.slow

MOCHI = Path(sys.executable).parent / "mochi"
PARAMS = {
    "train": {
        "max_steps": 50,
        "checkpoint_every": 4,
        "batch_size": 2,
        "rank": 4,
        "alpha": 8,
        "max_seq_len": 96,
        "learning_rate": 0.01,
        "warmup_steps": 0,
        "fisher_samples": 4,
        "replay_size": 8,
    },
    "dataset": {
        "samples_per_unit": 1,
        "max_commits": 10,
        "eval_fraction": 0.3,
        "context_rate": 0.0,
    },
    "gate_tolerance": 0.0,
}


def finished(http: httpx.Client, job_id: str) -> dict[str, object]:
    wait_for(
        lambda: (
            http.get(f"/v1/jobs/{job_id}").json()["state"] in ("succeeded", "failed", "cancelled")
        ),
        timeout=400,
        what="the job",
    )
    job: dict[str, object] = http.get(f"/v1/jobs/{job_id}").json()
    return job


def adapter_tensors(folder: Path) -> dict[str, object]:
    from safetensors.torch import load_file

    return dict(load_file(str(folder / "adapter_model.safetensors")))


def test_a_killed_daemon_resumes_its_job_from_the_checkpoint(
    daemon: DaemonProcess, tmp_path: Path
) -> None:
    import torch

    repo = make_code_repo(tmp_path / "repo")
    http = daemon.start()
    body = {"kind": "finetune", "workspace": str(repo.root), "params": PARAMS}
    job = http.post("/v1/jobs", json=body).json()
    also_queued = http.post(
        "/v1/jobs", json={**body, "kind": "build-dataset", "params": {"dataset": PARAMS["dataset"]}}
    ).json()
    checkpoints = daemon.xdg / "mochi" / "trainer" / "jobs" / job["id"] / "train" / "checkpoints"
    wait_for(
        lambda: (
            checkpoints.is_dir() and any(not p.name.startswith(".") for p in checkpoints.iterdir())
        ),
        timeout=300,
        what="a checkpoint",
    )
    assert http.get(f"/v1/jobs/{job['id']}").json()["state"] == "running"
    daemon.kill(signal.SIGKILL)

    http = daemon.start()
    listed = {j["id"]: j for j in http.get("/v1/jobs").json()}
    assert set(listed) == {job["id"], also_queued["id"]}  # nothing lost
    resumed = finished(http, job["id"])
    assert resumed["state"] == "succeeded", (resumed, daemon.log())
    result = resumed["result"]
    assert isinstance(result, dict)
    assert result["resumed_from_step"] > 0 and result["published"] is True
    assert finished(http, also_queued["id"])["state"] == "succeeded"

    # the same job, uninterrupted
    again = finished(http, http.post("/v1/jobs", json=body).json()["id"])
    assert again["state"] == "succeeded", again
    other = again["result"]
    assert isinstance(other, dict) and other["resumed_from_step"] == 0
    compare_dir = Path(other.get("path") or other["candidate_path"])
    first, second = adapter_tensors(Path(result["path"])), adapter_tensors(compare_dir)
    assert first.keys() == second.keys() and first
    for name, tensor in first.items():
        assert torch.allclose(tensor, second[name], atol=1e-6), name  # type: ignore[arg-type]
    assert other["published"] is True  # identical scores pass a zero-tolerance gate
