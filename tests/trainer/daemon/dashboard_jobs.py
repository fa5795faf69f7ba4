"""Sample jobs for the dashboard tests, put into a daemon's real job store, registry and
job folders as the handlers leave them: a finetune published as v1, a continual update
published as v2, one the gate kept out, a failed eval, a finetune still training and a
queued job. Loss histories are written with the training loop's own `RunHistory`."""

from __future__ import annotations

import math
import random
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from code_repo import add_later_commit, make_code_repo

from mochi.trainer.daemon import DaemonParts
from mochi.trainer.protocol import JobKind, JobProgress, JobRequest, JobState
from mochi.trainer.registry import Manifest
from mochi.trainer.training.history import RunHistory, StepRecord
from mochi.trainer.training.schedule import lr_factor

PEAK_LR = 2e-4
WARMUP = 4


@dataclass(frozen=True)
class SampleJobs:
    workspace: Path
    v1_job: str  # finetune, 40 steps, published v1
    v2_job: str  # continual, 20 steps, published v2
    refused_job: str  # continual, 20 steps, kept out by the gate
    running_job: str  # finetune at step 12 of 40
    queued_job: str
    failed_job: str
    steps: dict[str, int]  # job id → steps in its loss history


def loss_curve(steps: int, start: float, floor: float, seed: int, first: int = 1) -> list[float]:
    rng = random.Random(seed)
    return [
        floor + (start - floor) * math.exp(-(s - 1) / (steps / 3)) + rng.uniform(-0.06, 0.06)
        for s in range(first, first + steps)
    ]


def write_history(folder: Path, losses: list[float], total: int, started: float) -> None:
    history = RunHistory(folder)
    history.begin(0)
    for step, loss in enumerate(losses, start=1):
        lr = PEAK_LR * lr_factor(step - 1, WARMUP, total)
        history.step(StepRecord(step, loss, lr, started + 2.5 * step))
    history.end()


def add_sample_jobs(parts: DaemonParts, root: Path) -> SampleJobs:
    """Before the daemon starts: its runner then takes up the RUNNING job again (and holds
    it, with the tests' stand-in handler) and leaves the queued one waiting."""
    repo = make_code_repo(root)  # 3 commits
    commits = [c.strip() for c in repo.git("rev-list", "--reverse", "HEAD").splitlines()]
    commits.append(add_later_commit(repo))
    for n in (5, 6):
        repo.write(f"more_{n}.py", f"def answer_{n}():\n    return {n}\n")
        commits.append(repo.commit(f"add more_{n}"))
    c1, _, c3, c4, c5, c6 = commits
    workspace = str(repo.root)
    now = time.time()
    store, jobs_dir = parts.store, parts.runner.config.jobs_dir

    def job(kind: JobKind, adapter: str = "default", **params: Any) -> str:
        view, _ = store.submit(JobRequest(kind, workspace, adapter, params))
        return view.id

    def finish(job_id: str, result: dict[str, Any], state: JobState, error: str = "") -> None:
        claimed = store.claim_next("cpu")
        assert claimed is not None and claimed.view.id == job_id
        if result:
            stage = "publish" if result.get("published") else "gate: held-out commits"
            store.update_progress(job_id, JobProgress(stage, 1, 1))
        store.finish(job_id, state, result=result, error=error)

    def publish(job_id: str, version_commit: str, commit_range: list[str], **fields: Any) -> None:
        source = root.parent / f"adapter-{job_id[:8]}"
        source.mkdir()
        (source / "adapter_config.json").write_text('{"r": 16}\n')
        parts.registry.publish(
            source,
            Manifest(
                name="default",
                version="",
                base_model="SmolLM2-135M-Instruct",
                base_model_hash="0" * 64,
                commit=version_commit,
                commit_range=commit_range,
                strategy="lora",
                job_id=job_id,
                **fields,
            ),
        )

    v1_metrics = {
        "loss": 1.184,
        "next_line_em": 0.271,
        "count": 48,
        "future_edit_similarity": 0.618,
        "future_exact_match": 0.25,
        "future_tasks": 12,
    }
    v1_base = {"future_edit_similarity": 0.402, "future_exact_match": 0.083, "future_tasks": 12}
    v1 = job(JobKind.FINETUNE)
    write_history(jobs_dir / v1, loss_curve(40, 3.1, 1.15, seed=1), 40, now - 3600)
    finish(
        v1,
        {
            "published": True,
            "version": "v1",
            "metrics": v1_metrics,
            "previous_metrics": v1_base,
            "gate_reference": "the base model",
            "held_out_commits": {"cut": c3, "head": c4, "commits": 1, "tasks": 12},
            "previous_version": "",
            "steps": 40,
            "train_loss": 1.17,
            "commit": c3,
            "reason": "beats the base model: edit similarity 0.618 vs 0.402 (the base model), "
            "exact match 0.250 vs 0.083, on 12 lines of the held-out commits",
        },
        JobState.SUCCEEDED,
    )
    publish(
        v1,
        c3,
        [c1, c3],
        metrics=v1_metrics,
        previous_metrics=v1_base,
        steps=40,
        created_at=now - 3420,
    )

    v2_metrics = {
        "loss": 1.102,
        "next_line_em": 0.292,
        "count": 48,
        "future_edit_similarity": 0.655,
        "future_exact_match": 0.333,
        "future_tasks": 9,
    }
    v2_reference = {
        "loss": 1.131,
        "next_line_em": 0.271,
        "count": 48,
        "future_edit_similarity": 0.597,
        "future_exact_match": 0.222,
        "future_tasks": 9,
    }
    v2 = job(JobKind.CONTINUAL)
    write_history(jobs_dir / v2, loss_curve(20, 1.5, 1.05, seed=2), 20, now - 2400)
    finish(
        v2,
        {
            "published": True,
            "version": "v2",
            "metrics": v2_metrics,
            "previous_metrics": v2_reference,
            "gate_reference": "v1 (in service)",
            "held_out_commits": {"cut": c4, "head": c5, "commits": 1, "tasks": 9},
            "previous_version": "v1",
            "steps": 20,
            "commit": c4,
            "reason": "beats v1 (in service): edit similarity 0.655 vs 0.597 (v1 (in service)), "
            "exact match 0.333 vs 0.222, on 9 lines of the held-out commits",
        },
        JobState.SUCCEEDED,
    )
    publish(
        v2,
        c4,
        [c4, c4],
        metrics=v2_metrics,
        previous_metrics=v2_reference,
        previous_version="v1",
        steps=20,
        created_at=now - 2330,
    )

    refused_metrics = {**v2_metrics, "loss": 1.09, "future_edit_similarity": 0.641}
    refused_reference = {**v2_metrics, "future_tasks": 7}
    refused = job(JobKind.CONTINUAL)
    write_history(jobs_dir / refused, loss_curve(20, 1.3, 1.0, seed=3), 20, now - 1200)
    finish(
        refused,
        {
            "published": False,
            "metrics": {**refused_metrics, "future_tasks": 7},
            "previous_metrics": refused_reference,
            "gate_reference": "v2 (in service)",
            "held_out_commits": {"cut": c5, "head": c6, "commits": 1, "tasks": 7},
            "previous_version": "v2",
            "steps": 20,
            "commit": c5,
            "reason": "does not beat v2 (in service): edit similarity 0.641 vs 0.655 "
            "(v2 (in service)), exact match 0.333 vs 0.333, on 7 lines of the held-out commits",
        },
        JobState.SUCCEEDED,
    )

    failed = job(JobKind.EVAL, adapter="docs", version="v1")
    finish(
        failed,
        {},
        JobState.FAILED,
        error="UnknownAdapter: adapter 'docs' has no version 'v1' (have: none)",
    )

    running = job(JobKind.FINETUNE, adapter="default")
    write_history(jobs_dir / running, loss_curve(12, 3.0, 1.1, seed=4), 40, now - 60)
    claimed = store.claim_next("cpu")
    assert claimed is not None and claimed.view.id == running
    store.update_progress(running, JobProgress("train", 12, 40, "", 84.0))
    queued = job(JobKind.BUILD_DATASET)

    _backdate(
        store.path,
        {
            v1: (now - 3700, now - 3650, now - 3420),
            v2: (now - 2500, now - 2450, now - 2330),
            refused: (now - 1300, now - 1250, now - 1130),
            failed: (now - 600, now - 598, now - 597),
            running: (now - 90, now - 62, None),
            queued: (now - 30, None, None),
        },
    )
    return SampleJobs(
        workspace=repo.root,
        v1_job=v1,
        v2_job=v2,
        refused_job=refused,
        running_job=running,
        queued_job=queued,
        failed_job=failed,
        steps={v1: 40, v2: 20, refused: 20, running: 12},
    )


def _backdate(path: Path, times: dict[str, tuple[float, float | None, float | None]]) -> None:
    """Spread the jobs over the last hour, as if they had run one after the other."""
    with sqlite3.connect(path) as db:
        for job_id, (created, started, finished) in times.items():
            db.execute(
                "UPDATE jobs SET created_at = ?, started_at = ?, finished_at = ? WHERE id = ?",
                (created, started, finished, job_id),
            )
