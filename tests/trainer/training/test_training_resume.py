"""A run cancelled after step k and resumed ends with the same weights as an
uninterrupted run; a checkpoint from other parameters is refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from training_tasks import task_a

from mochi.trainer.training.params import TrainingCancelled, TrainingError, TrainParams
from mochi.trainer.training.run import train_adapter

PARAMS = TrainParams(
    rank=4,
    alpha=8,
    dropout=0.1,  # dropout draws random numbers: the RNG state must be restored too
    learning_rate=5e-3,
    warmup_steps=2,
    max_steps=8,
    batch_size=3,
    grad_accum=2,
    checkpoint_every=3,
    fisher_samples=2,
)


def _cancel_after(steps: int) -> object:
    calls = {"n": 0}

    def should_cancel() -> bool:
        calls["n"] += 1
        return calls["n"] > steps  # checked before each step: True after `steps` steps

    return should_cancel


def _weights(folder: Path) -> dict[str, object]:
    from safetensors.torch import load_file

    return dict(load_file(str(folder / "adapter_model.safetensors")))


@pytest.fixture(scope="module")
def uninterrupted(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = tmp_path_factory.mktemp("uninterrupted")
    return train_adapter(tiny_model_dir, task_a(10), [], PARAMS, workdir).output_dir


def test_cancel_then_resume_gives_identical_weights(
    tiny_model_dir: Path, uninterrupted: Path, tmp_path: Path
) -> None:
    with pytest.raises(TrainingCancelled, match="after step 5"):
        train_adapter(
            tiny_model_dir,
            task_a(10),
            [],
            PARAMS,
            tmp_path,
            should_cancel=_cancel_after(5),  # type: ignore[arg-type]
        )
    assert [p.name for p in (tmp_path / "checkpoints").iterdir()] == ["step-00000005"]
    assert not (tmp_path / "output").exists()

    resumed = train_adapter(tiny_model_dir, task_a(10), [], PARAMS, tmp_path)
    assert resumed.resumed_from_step == 5 and resumed.steps == 8
    expected, got = _weights(uninterrupted), _weights(resumed.output_dir)
    assert expected.keys() == got.keys()
    for name in expected:
        assert got[name].equal(expected[name]), name  # type: ignore[attr-defined]


def test_killed_process_resumes_from_the_periodic_checkpoint(
    tiny_model_dir: Path, uninterrupted: Path, tmp_path: Path
) -> None:
    """A process killed mid-run (here: it exits hard after step 4) leaves the step-3
    checkpoint; the next run resumes from it and lands on the same weights."""
    script = f"""
import os, sys
sys.path.insert(0, {str(Path(__file__).parents[2] / "support")!r})
from pathlib import Path
from training_tasks import task_a
from mochi.trainer.training.params import TrainParams
from mochi.trainer.training.run import train_adapter
params = TrainParams.from_dict({PARAMS.to_dict()!r})
def progress(stage, done, total):
    if done == 4:
        os._exit(9)
train_adapter(Path({str(tiny_model_dir)!r}), task_a(10), [], params, Path({str(tmp_path)!r}),
              progress=progress)
"""
    killed = subprocess.run([sys.executable, "-c", script], env=os.environ.copy(), timeout=120)
    assert killed.returncode == 9
    assert [p.name for p in (tmp_path / "checkpoints").iterdir()] == ["step-00000003"]

    resumed = train_adapter(tiny_model_dir, task_a(10), [], PARAMS, tmp_path)
    assert resumed.resumed_from_step == 3
    expected, got = _weights(uninterrupted), _weights(resumed.output_dir)
    for name in expected:
        assert got[name].equal(expected[name]), name  # type: ignore[attr-defined]


def test_checkpoint_from_other_params_is_refused(tiny_model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(TrainingCancelled):
        train_adapter(
            tiny_model_dir,
            task_a(10),
            [],
            PARAMS,
            tmp_path,
            should_cancel=_cancel_after(2),  # type: ignore[arg-type]
        )
    other = TrainParams.from_dict({**PARAMS.to_dict(), "learning_rate": 1e-3})
    with pytest.raises(TrainingError, match=r"different training parameters.*learning_rate"):
        train_adapter(tiny_model_dir, task_a(10), [], other, tmp_path)
    with pytest.raises(TrainingError, match="different training data"):
        train_adapter(tiny_model_dir, task_a(11), [], PARAMS, tmp_path)
