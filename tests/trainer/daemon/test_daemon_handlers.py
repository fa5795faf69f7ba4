"""The real job handlers on the tiny random Llama: finetune → gate → publish, continual
with EWC on new commits, eval, build-dataset, and the base-model check."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from code_repo import add_later_commit, make_code_repo
from daemon_helpers import wait_for

from mochi.trainer.daemon import DaemonConfig, DaemonParts, build_daemon
from mochi.trainer.protocol import JobKind, JobRequest, JobState, JobView
from mochi.trainer.registry import Manifest

pytestmark = pytest.mark.slow

TRAIN = {
    "max_steps": 4,
    "learning_rate": 0.02,
    "batch_size": 2,
    "rank": 4,
    "alpha": 8,
    "max_seq_len": 128,
    "checkpoint_every": 2,
    "warmup_steps": 0,
    "fisher_samples": 4,
    "replay_size": 8,
}
DATASET = {"samples_per_unit": 1, "max_commits": 10, "eval_fraction": 0.3, "context_rate": 0.0}


@pytest.fixture
def daemon(tmp_path: Path, tiny_model_dir: Path) -> Any:
    parts = build_daemon(
        DaemonConfig(
            data_dir=tmp_path / "data",
            base_model=tiny_model_dir,
            devices=("cpu",),
            poll_seconds=0.05,
        )
    )
    parts.start()
    yield parts
    parts.stop()


def run(parts: DaemonParts, kind: JobKind, workspace: Path, **params: Any) -> JobView:
    view, _ = parts.store.submit(JobRequest(kind, str(workspace), "default", params))
    parts.runner.wake()
    wait_for(lambda: parts.store.get(view.id).state.finished, timeout=240, what=kind.value)
    return parts.store.get(view.id)


def test_finetune_continual_eval_and_the_gate(
    daemon: DaemonParts, tmp_path: Path, tiny_model_dir: Path
) -> None:
    repo = make_code_repo(tmp_path / "repo")
    first = run(daemon, JobKind.FINETUNE, repo.root, train=TRAIN, dataset=DATASET)
    assert first.state == JobState.SUCCEEDED, first.error
    assert first.result["published"] is True and first.result["version"] == "v1"
    manifest = Manifest.read(Path(first.result["path"]))
    head = repo.git("rev-parse", "HEAD").strip()
    assert manifest.commit == head and manifest.base_model_hash and manifest.dataset_hash
    assert manifest.fisher and (Path(first.result["path"]) / manifest.fisher).is_file()
    assert {"loss", "next_line_em"} <= set(manifest.metrics)
    assert daemon.registry.current_version("default") == "v1"

    # nothing new since v1: continual does not train
    idle = run(daemon, JobKind.CONTINUAL, repo.root, train=TRAIN, dataset=DATASET)
    assert idle.state == JobState.SUCCEEDED and idle.result["published"] is False
    assert "no new commits" in idle.result["reason"]

    later = add_later_commit(repo)
    ewc = {**TRAIN, "ewc_lambda": 10.0, "ewc_gamma": 0.9, "replay_ratio": 0.25}
    second = run(
        daemon, JobKind.CONTINUAL, repo.root, train=ewc, dataset=DATASET, gate_tolerance=1.0
    )
    assert second.state == JobState.SUCCEEDED, second.error
    assert second.result["published"] is True, second.result
    assert second.result["previous_version"] == "v1"
    v2 = Manifest.read(Path(second.result["path"]))
    assert v2.commit == later and v2.previous_version == "v1" and v2.previous_metrics
    assert daemon.registry.current_version("default") == "v2"

    # a run that learnt next to nothing scores worse than v2: the gate keeps it out
    wild = {**TRAIN, "learning_rate": 1e-7, "max_steps": 1}
    refused = run(
        daemon, JobKind.FINETUNE, repo.root, train=wild, dataset=DATASET, gate_tolerance=0.0
    )
    assert refused.state == JobState.SUCCEEDED, refused.error
    assert refused.result["published"] is False, refused.result
    assert "regressed" in refused.result["reason"]
    assert daemon.registry.current_version("default") == "v2"
    assert [m.version for m in daemon.registry.versions("default")] == ["v1", "v2"]

    scored = run(daemon, JobKind.EVAL, repo.root, dataset=DATASET, version="v1")
    assert scored.state == JobState.SUCCEEDED, scored.error
    assert scored.result["version"] == "v1" and scored.result["scores"]["count"] > 0

    other = tmp_path / "other-model"
    shutil.copytree(tiny_model_dir, other)
    config = json.loads((other / "config.json").read_text())
    (other / "config.json").write_text(json.dumps({**config, "rms_norm_eps": 1e-5 * 3}))
    mismatch = run(daemon, JobKind.CONTINUAL, repo.root, base_model=str(other), train=TRAIN)
    assert mismatch.state == JobState.FAILED
    assert "other-model" in mismatch.error and tiny_model_dir.name in mismatch.error


def test_build_dataset_saves_the_dataset_with_its_card(daemon: DaemonParts, tmp_path: Path) -> None:
    repo = make_code_repo(tmp_path / "repo")
    job = run(daemon, JobKind.BUILD_DATASET, repo.root, dataset=DATASET)
    assert job.state == JobState.SUCCEEDED, job.error
    folder = Path(job.result["path"])
    card = json.loads((folder / "card.json").read_text())
    assert card["sha256"] == job.result["hash"] and job.result["train"] > 0
    assert (folder / "train.jsonl").is_file()
