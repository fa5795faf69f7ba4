"""The eval gate's test that counts: the lines the newest commits wrote. They are held
out of training (the candidate learns the repository up to the commit before them) and
completed, as an editor would ask for them, by the candidate and by the version in
service (or the base model, for the first version) through the language server's own
pipeline, which the daemon's composition root hands in (`VersionCompleters`)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from mochi.trainer.evaluation import CONFIGURATIONS, Completer, Task, TaskOptions
from mochi.trainer.evaluation.metrics import score_line
from mochi.trainer.evaluation.task_extraction import extract_tasks

MIN_GATE_TASKS = 5  # fewer: the gate falls back to the held-out loss alone


class VersionCompleters(Protocol):
    def __call__(
        self, model_dir: Path, adapter_dir: Path | None
    ) -> AbstractContextManager[Completer]:
        """The served pipeline over the base model and, when given, one adapter version
        (a peft folder, or a fully fine-tuned model folder)."""
        ...


@dataclass(frozen=True)
class HeldOut:
    cut: str  # the candidate trains on the repository up to this commit
    head: str
    commits: int  # commits in cut..head
    tasks: list[Task]


@dataclass(frozen=True, slots=True)
class FutureScores:
    edit_similarity: float  # mean over the tasks, 0..1
    exact_match: float
    count: int

    def to_json(self) -> dict[str, float]:
        return {
            "future_edit_similarity": self.edit_similarity,
            "future_exact_match": self.exact_match,
            "future_tasks": self.count,
        }


def _first_parents(root: Path, head: str, count: int) -> list[str]:
    done = subprocess.run(
        ["git", "-C", str(root), "rev-list", "--first-parent", f"--max-count={count}", head],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.split() if done.returncode == 0 else []


def held_out_commits(
    root: Path, head: str, commits: int, max_tasks: int, seed: int = 0
) -> HeldOut | None:
    """The newest `commits` commits of `head` and their lines; None when the history is
    not longer than that, or they add fewer than MIN_GATE_TASKS lines worth completing."""
    if commits <= 0 or not head:
        return None
    line = _first_parents(root, head, commits + 1)
    if len(line) <= commits:
        return None
    cut = line[commits]
    tasks = extract_tasks(root, cut, head, TaskOptions(max_tasks=max_tasks, seed=seed))
    if len(tasks) < MIN_GATE_TASKS:
        return None
    return HeldOut(cut=cut, head=head, commits=commits, tasks=tasks)


def score_version(
    open_completer: VersionCompleters,
    model_dir: Path,
    adapter_dir: Path | None,
    tasks: Sequence[Task],
    *,
    tick: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> FutureScores:
    """Complete every task with the version (the base model when `adapter_dir` is None)."""
    if adapter_dir is not None and not (adapter_dir / "adapter_config.json").is_file():
        model_dir, adapter_dir = adapter_dir, None  # a full fine-tune: a model folder
    config = CONFIGURATIONS["lora" if adapter_dir is not None else "base"]
    similarity = exact = 0.0
    with open_completer(model_dir, adapter_dir) as completer:
        for done, task in enumerate(tasks, start=1):
            if cancelled is not None and cancelled():
                break
            scores = score_line(completer.complete(task, config), task.truth)
            similarity += scores.edit_similarity
            exact += scores.exact_match
            if tick is not None:
                tick(done, len(tasks))
    count = max(1, len(tasks))
    return FutureScores(similarity / count, exact / count, len(tasks))


def future_json(scores: FutureScores | None) -> dict[str, Any]:
    return scores.to_json() if scores is not None else {}
