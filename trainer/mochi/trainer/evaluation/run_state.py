"""The run folder: `run.json` (what the run is), `tasks.jsonl`, `results.jsonl`. A rerun
with the same identity reuses the tasks and skips the results already recorded."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mochi.trainer.evaluation.errors import EvalError
from mochi.trainer.evaluation.git_history import commits_between, require_repository, resolve_commit
from mochi.trainer.evaluation.run_spec import RunSpec
from mochi.trainer.evaluation.task_extraction import extract_tasks
from mochi.trainer.evaluation.tasks import Task, read_tasks, write_tasks

RUN_FILE = "run.json"
TASKS_FILE = "tasks.jsonl"
RESULTS_FILE = "results.jsonl"


@dataclass(frozen=True)
class PreparedRun:
    repo: Path  # the repository's top folder
    since: str  # full shas
    until: str
    commits: int  # commits in since..until (the tasks' pool)
    tasks: list[Task]
    identity: dict[str, Any]


def identity_of(spec: RunSpec, repo: Path, since: str, until: str) -> dict[str, Any]:
    """What decides the tasks and predictions; a run folder holds one identity."""
    return {
        "repository": str(repo),
        "since": since,
        "until": until,
        "tasks": spec.tasks.to_json(),
        "decoding": spec.decoding.to_json(),
        "model": str(spec.model_dir),
        "adapter": str(spec.adapter_dir) if spec.adapter_dir else "",
        "train_steps": spec.train_steps,
        "train_params": spec.train_params,
        "dataset_params": spec.dataset_params,
    }


def prepare_run(spec: RunSpec) -> PreparedRun:
    """Resolve the commits and load the run's tasks (extracting them the first time)."""
    repo = require_repository(spec.repo)
    since = resolve_commit(repo, spec.since)
    until = resolve_commit(repo, spec.until)
    commits = len(commits_between(repo, since, until))
    if commits == 0:
        raise EvalError(f"no commits after {spec.since} up to {spec.until}: nothing to evaluate")
    identity = identity_of(spec, repo, since, until)
    spec.out.mkdir(parents=True, exist_ok=True)
    run_file, tasks_file = spec.out / RUN_FILE, spec.out / TASKS_FILE
    if run_file.is_file():
        recorded = json.loads(run_file.read_text(encoding="utf-8"))
        if recorded != identity:
            changed = sorted(k for k in identity if recorded.get(k) != identity[k])
            raise EvalError(
                f"{spec.out} holds another run (differs in: {', '.join(changed)}); "
                "pass a new --out or delete that folder"
            )
    if run_file.is_file() and tasks_file.is_file():
        tasks = read_tasks(tasks_file)
    else:
        tasks = extract_tasks(repo, since, until, spec.tasks)
        if not tasks:
            raise EvalError(
                f"no tasks found in the {commits} commits after {spec.since} "
                f"(languages: {', '.join(spec.tasks.languages)})"
            )
        write_tasks(tasks_file, tasks)
        run_file.write_text(json.dumps(identity, indent=2) + "\n", encoding="utf-8")
    return PreparedRun(repo, since, until, commits, tasks, identity)
