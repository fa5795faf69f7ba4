"""`mochi trainer serve` gates a new adapter on held-out future commits: the newest
commits are left out of its training, and it is published only if, through the language
server's own completion pipeline, it completes their lines better than the base model
(for the first version) — with both scores in the job's report."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from code_repo import add_later_commit, make_code_repo
from daemon_process import DaemonProcess
from test_daemon_durability import finished

from mochi.trainer.registry import Manifest

pytestmark = pytest.mark.slow

PARAMS = {
    "train": {
        "max_steps": 6,
        "batch_size": 2,
        "rank": 4,
        "alpha": 8,
        "max_seq_len": 96,
        "learning_rate": 0.01,
        "warmup_steps": 0,
        "fisher_samples": 2,
        "replay_size": 4,
    },
    "dataset": {"samples_per_unit": 1, "max_commits": 10, "eval_fraction": 0.3},
    "gate_commits": 2,
    "gate_tasks": 12,
    "gate_samples": 3,
}


def test_the_gate_scores_both_versions_on_the_newest_commits(
    daemon: DaemonProcess, tmp_path: Path
) -> None:
    repo = make_code_repo(tmp_path / "repo")  # geometry, stats, text
    add_later_commit(repo)  # queues
    cut = repo.git("rev-parse", "HEAD~2").strip()  # the newest two are held out
    head = repo.git("rev-parse", "HEAD").strip()
    http = daemon.start()
    body = {"kind": "finetune", "workspace": str(repo.root), "adapter": "default"}
    job = finished(http, http.post("/v1/jobs", json={**body, "params": PARAMS}).json()["id"])
    assert job["state"] == "succeeded", job
    result: dict = job["result"]  # type: ignore[assignment]
    held = result["held_out_commits"]
    assert (held["cut"], held["head"], held["commits"]) == (cut, head, 2)
    assert 5 <= held["tasks"] <= 12
    assert result["gate_reference"] == "the base model"
    new = result["metrics"]["future_edit_similarity"]
    base = result["previous_metrics"]["future_edit_similarity"]
    assert result["metrics"]["future_tasks"] == held["tasks"]
    assert 0.0 <= new <= 1.0 and 0.0 <= base <= 1.0
    assert "loss" in result["metrics"]  # the held-out loss is reported too
    # the decision follows the scores; published or not, the reason states both
    assert result["published"] is (new > base)
    assert f"{new:.3f} vs {base:.3f}" in result["reason"]
    if result["published"]:
        assert Manifest.read(Path(result["path"])).commit == cut  # trained up to the cut


def test_the_gate_cost_is_bounded_and_every_stage_is_in_the_daemon_log(
    daemon: DaemonProcess, tmp_path: Path
) -> None:
    repo = make_code_repo(tmp_path / "repo")
    add_later_commit(repo)
    http = daemon.start()
    body = {"kind": "finetune", "workspace": str(repo.root), "adapter": "default"}
    job = finished(http, http.post("/v1/jobs", json={**body, "params": PARAMS}).json()["id"])
    assert job["state"] == "succeeded", job
    result: dict = job["result"]  # type: ignore[assignment]
    scored = int(result["metrics"]["count"])
    assert 1 <= scored <= PARAMS["gate_samples"]  # type: ignore[operator]
    tasks = result["held_out_commits"]["tasks"]
    log = daemon.log()
    prefix = f"job {job['id']}: "
    # each long stage says what it does, with counts, from its start to its end
    assert re.search(rf"{prefix}train (\d+)/\1 \(100 %\)", log), log
    for line in (
        f"gate: held-out samples 0/{scored} (0 %): the new version",
        f"gate: held-out samples {scored}/{scored} (100 %): the new version",
        f"gate: held-out commits {tasks}/{tasks} (100 %): the new version",
        f"gate: held-out commits {tasks}/{tasks} (100 %): the base model",
    ):
        assert prefix + line in log, (line, log)
