"""The training loop's history: one line per optimizer step in loss.jsonl and the same
values in TensorBoard; a run that crashed and resumed from its checkpoint has the history
of an uninterrupted run, in both."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from tensorboard_events import read_scalars
from training_tasks import task_a

from mochi.trainer.training.history import (
    HISTORY_FILE,
    TENSORBOARD_DIR,
    RunHistory,
    StepRecord,
    read_history,
)
from mochi.trainer.training.params import TrainParams
from mochi.trainer.training.run import train_adapter
from mochi.trainer.training.schedule import lr_factor

PARAMS = TrainParams(
    rank=4,
    alpha=8,
    learning_rate=5e-3,
    warmup_steps=2,
    max_steps=8,
    batch_size=3,
    checkpoint_every=3,
    fisher_samples=2,
)


class Crash(RuntimeError):
    pass


def crash_after(step: int) -> object:
    """A progress callback that dies after `step` (its line is written, the checkpoint of
    step 3 is the latest)."""

    def progress(stage: str, done: int, total: int) -> None:
        if stage == "train" and done == step:
            raise Crash(f"crashed after step {step}")

    return progress


def test_the_history_records_every_step_and_survives_a_torn_line(tmp_path: Path) -> None:
    history = RunHistory(tmp_path)
    history.begin(0)
    for step in (1, 2, 3):
        history.step(StepRecord(step, 3.0 - step / 2, 1e-3 * step, 100.0 + step))
    history.end()
    with (tmp_path / HISTORY_FILE).open("a") as out:
        out.write('{"step": 4, "loss": 1.')  # a process killed in the middle of a write
    assert [r.step for r in read_history(tmp_path)] == [1, 2, 3]
    assert read_history(tmp_path)[1] == StepRecord(2, 2.0, 2e-3, 102.0)

    resumed = RunHistory(tmp_path)
    resumed.begin(2)  # the checkpoint was of step 2: step 3 and the torn line go
    resumed.step(StepRecord(3, 9.0, 3e-3, 200.0))
    resumed.end()
    assert [(r.step, r.loss) for r in read_history(tmp_path)] == [(1, 2.5), (2, 2.0), (3, 9.0)]
    assert read_history(tmp_path / "nothing-here") == []


def test_a_crashed_and_resumed_run_has_the_history_of_an_uninterrupted_one(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    straight = tmp_path / "straight"
    train_adapter(
        tiny_model_dir, task_a(10), [], PARAMS, straight / "train", step_log=RunHistory(straight)
    )
    expected = read_history(straight)
    assert [r.step for r in expected] == list(range(1, 9))
    assert all(math.isfinite(r.loss) and r.loss > 0 for r in expected)
    for r in expected:  # the learning rate each step used: warm-up, then cosine decay
        assert r.lr == pytest.approx(PARAMS.learning_rate * lr_factor(r.step - 1, 2, 8))
    assert [r.time for r in expected] == sorted(r.time for r in expected)

    crashed = tmp_path / "crashed"
    with pytest.raises(Crash):
        train_adapter(
            tiny_model_dir,
            task_a(10),
            [],
            PARAMS,
            crashed / "train",
            progress=crash_after(4),  # type: ignore[arg-type]
            step_log=RunHistory(crashed),
        )
    assert [r.step for r in read_history(crashed)] == [1, 2, 3, 4]
    resumed = train_adapter(
        tiny_model_dir, task_a(10), [], PARAMS, crashed / "train", step_log=RunHistory(crashed)
    )
    assert resumed.resumed_from_step == 3
    got = read_history(crashed)
    assert [r.step for r in got] == list(range(1, 9))  # step 4 once: the resumed run's
    assert [r.loss for r in got] == pytest.approx([r.loss for r in expected], abs=1e-6)
    assert [r.lr for r in got] == pytest.approx([r.lr for r in expected])

    for folder, records in ((straight, expected), (crashed, got)):
        scalars = read_scalars(folder / TENSORBOARD_DIR)
        assert scalars["train/loss"] == pytest.approx({r.step: r.loss for r in records}, rel=1e-6)
        assert scalars["train/lr"] == pytest.approx({r.step: r.lr for r in records}, rel=1e-6)
