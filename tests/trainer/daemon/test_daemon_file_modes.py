"""What `mochi trainer serve` writes is its user's alone, whatever the umask: the queue
(SQLite and its -wal/-shm), the job folders with datasets and checkpoints, the adapter
registry. Files 0600, folders 0700, like the token."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from code_repo import make_code_repo
from daemon_helpers import StepHandler, step_handlers, wait_for
from daemon_process import DaemonProcess

from mochi.trainer.daemon import DaemonConfig, build_daemon
from mochi.trainer.jobs.store import JobStore

PARAMS = {
    "train": {
        "max_steps": 4,
        "checkpoint_every": 2,
        "batch_size": 2,
        "rank": 4,
        "alpha": 8,
        "max_seq_len": 64,
        "warmup_steps": 0,
        "fisher_samples": 2,
        "replay_size": 4,
    },
    "dataset": {"samples_per_unit": 1, "max_commits": 5, "eval_fraction": 0.3},
}


def loose(root: Path) -> list[str]:
    """Everything under `root` (itself included) that the group or others may read."""
    found = []
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if not path.is_symlink() and mode & 0o077:
            found.append(f"{mode:04o} {path.relative_to(root.parent)}")
    return found


@pytest.mark.slow
def test_the_queue_the_job_folders_and_the_registry_are_private(
    daemon: DaemonProcess, tmp_path: Path
) -> None:
    repo = make_code_repo(tmp_path / "repo")
    umask = os.umask(0o022)  # the usual one: without care, all of it would be world-readable
    try:
        http = daemon.start()
    finally:
        os.umask(umask)
    body = {"kind": "finetune", "workspace": str(repo.root), "params": PARAMS}
    job_id = http.post("/v1/jobs", json=body).json()["id"]
    wait_for(
        lambda: http.get(f"/v1/jobs/{job_id}").json()["state"] in ("succeeded", "failed"),
        timeout=300,
        what="the job",
    )
    job = http.get(f"/v1/jobs/{job_id}").json()
    assert job["state"] == "succeeded" and job["result"]["published"], job

    data = daemon.xdg / "mochi"
    queue = data / "trainer" / "jobs.sqlite3"
    written = [p.name for p in queue.parent.iterdir()]
    assert {"jobs.sqlite3-wal", "jobs.sqlite3-shm"} <= set(written), written
    checkpoints = data / "trainer" / "jobs" / job_id / "train" / "checkpoints"
    assert any(checkpoints.glob("step-*/*")), "the run wrote no checkpoint to check"
    assert any((data / "adapters").rglob("manifest.json"))
    assert loose(data / "trainer") == []
    assert loose(data / "adapters") == []


def test_what_an_older_daemon_left_readable_is_tightened_at_start(tmp_path: Path) -> None:
    config = DaemonConfig(data_dir=tmp_path / "data", devices=("cpu",))
    store = JobStore(config.queue_path)
    store.journal_mode()  # the -wal and -shm exist while a connection is open
    for folder in (config.trainer_dir, config.jobs_dir, config.adapters_dir):
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o755)
    for file in config.trainer_dir.glob("jobs.sqlite3*"):
        file.chmod(0o644)
    store.close()

    parts = build_daemon(config, handlers=step_handlers(StepHandler()))
    parts.start()
    try:
        assert loose(config.trainer_dir) == []
        assert loose(config.adapters_dir) == []
    finally:
        parts.stop()
