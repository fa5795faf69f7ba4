"""The gate's held-out future commits: which commits, which lines, and how a version is
scored on them (a scripted completer stands in for the served pipeline here; the daemon
test with the real pipeline is in test_daemon_future_gate.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from eval_history import build_history

from mochi.trainer.evaluation import Configuration, Task
from mochi.trainer.jobs.future_gate import MIN_GATE_TASKS, held_out_commits, score_version


def test_the_newest_commits_are_held_out_with_their_lines(tmp_path: Path) -> None:
    history = build_history(tmp_path / "repo")
    head = history.geometry
    held = held_out_commits(history.root, head, 2, max_tasks=100)
    assert held is not None
    assert (held.cut, held.head, held.commits) == (history.cut, head, 2)
    assert len(held.tasks) >= MIN_GATE_TASKS
    assert {t.commit for t in held.tasks} <= {history.app, history.geometry}
    assert held_out_commits(history.root, head, 3, max_tasks=100) is None  # nothing before
    assert held_out_commits(history.root, head, 0, max_tasks=100) is None
    # one commit (4 lines) is too few to compare versions on
    assert held_out_commits(history.root, head, 1, max_tasks=100) is None


class Truthful:
    """Answers the truth for the adapter version, nothing for the base model."""

    def __init__(self, adapter: Path | None) -> None:
        self.adapter = adapter
        self.configs: list[str] = []

    def complete(self, task: Task, config: Configuration) -> str:
        self.configs.append(config.name)
        return task.truth if self.adapter is not None else ""


def test_a_version_is_scored_through_the_completer_it_is_given(tmp_path: Path) -> None:
    history = build_history(tmp_path / "repo")
    held = held_out_commits(history.root, history.geometry, 2, max_tasks=100)
    assert held is not None
    opened: list[Truthful] = []

    @contextmanager
    def completers(model_dir: Path, adapter_dir: Path | None) -> Iterator[Truthful]:
        opened.append(Truthful(adapter_dir))
        yield opened[-1]

    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text("{}")
    good = score_version(completers, tmp_path / "model", adapter, held.tasks)
    assert (good.edit_similarity, good.exact_match, good.count) == (1.0, 1.0, len(held.tasks))
    base = score_version(completers, tmp_path / "model", None, held.tasks)
    assert base.exact_match == 0.0 and base.edit_similarity == 0.0
    assert set(opened[0].configs) == {"lora"} and set(opened[1].configs) == {"base"}
    full = tmp_path / "full-model"  # a full fine-tune is a model folder: the base config
    full.mkdir()
    score_version(completers, tmp_path / "model", full, held.tasks)
    assert opened[2].adapter is None and set(opened[2].configs) == {"base"}
