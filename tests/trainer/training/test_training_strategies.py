"""Each strategy trains the tiny model on CPU and lowers its held-out loss; QLoRA and
DeepSpeed refuse clearly where they cannot run (and run on a GPU, `gpu`-marked)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from training_tasks import task_a

from mochi.trainer.training.evaluate import EvalScores, evaluate_model
from mochi.trainer.training.params import TrainingError, TrainParams
from mochi.trainer.training.run import train_adapter

HELD_OUT = task_a(8, offset=100)


@pytest.fixture(scope="module")
def base_scores(tiny_model_dir: Path) -> EvalScores:
    return evaluate_model(tiny_model_dir, None, HELD_OUT, max_new_tokens=4)


@pytest.mark.parametrize(
    ("strategy", "learning_rate"), [("lora", 1e-2), ("dora", 1e-2), ("full", 2e-3)]
)
def test_strategy_lowers_held_out_loss(
    strategy: str,
    learning_rate: float,
    tiny_model_dir: Path,
    base_scores: EvalScores,
    tmp_path: Path,
) -> None:
    params = TrainParams(
        strategy=strategy,
        rank=4,
        alpha=8,
        learning_rate=learning_rate,
        warmup_steps=2,
        max_steps=20,
        checkpoint_every=0,
        fisher_samples=4,
    )
    seen: list[tuple[str, int, int]] = []
    outcome = train_adapter(
        tiny_model_dir,
        task_a(24),
        HELD_OUT,
        params,
        tmp_path,
        progress=lambda *event: seen.append(event),
    )
    assert outcome.eval is not None and outcome.eval.count == len(HELD_OUT)
    assert outcome.eval.loss < base_scores.loss - 0.5
    assert outcome.steps == 20 and outcome.strategy == strategy
    assert ("train", 20, 20) in seen and ("eval", 8, 8) in seen
    files = {p.name for p in outcome.output_dir.iterdir()}
    assert "replay.jsonl" in files
    if strategy == "full":
        assert {"config.json", "model.safetensors", "tokenizer.json"} <= files
    else:
        assert {"adapter_config.json", "adapter_model.safetensors", "fisher.safetensors"} <= files
        config = json.loads((outcome.output_dir / "adapter_config.json").read_text())
        assert config["use_dora"] is (strategy == "dora")
        assert set(config["target_modules"]) == {
            "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"
        }  # fmt: skip
    rescored = evaluate_model(tiny_model_dir, outcome.output_dir, HELD_OUT, max_new_tokens=4)
    assert rescored.loss == pytest.approx(outcome.eval.loss, rel=1e-4)


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="checks the CPU-only refusal")
def test_qlora_on_cpu_says_what_it_needs(tiny_model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match=r"QLoRA.*CUDA.*mochi\[gpu\]"):
        train_adapter(tiny_model_dir, task_a(4), [], TrainParams(strategy="qlora"), tmp_path)
    assert not (tmp_path / "output").exists()


@pytest.mark.skipif(
    importlib.util.find_spec("deepspeed") is not None, reason="checks the missing-package error"
)
def test_deepspeed_without_the_package_says_what_to_install(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    with pytest.raises(TrainingError, match=r"DeepSpeed.*mochi\[gpu\]"):
        train_adapter(tiny_model_dir, task_a(4), [], TrainParams(deepspeed="zero2"), tmp_path)


needs_cuda = pytest.mark.skipif(
    not __import__("torch").cuda.is_available(), reason="needs a CUDA device"
)


@pytest.mark.gpu
@needs_cuda
def test_qlora_trains_on_a_gpu(
    tiny_model_dir: Path, base_scores: EvalScores, tmp_path: Path
) -> None:
    params = TrainParams(strategy="qlora", rank=4, alpha=8, learning_rate=1e-2, max_steps=20)
    outcome = train_adapter(tiny_model_dir, task_a(24), HELD_OUT, params, tmp_path)
    assert outcome.eval is not None and outcome.eval.loss < base_scores.loss - 0.5


@pytest.mark.gpu
@needs_cuda
def test_deepspeed_zero2_runs_a_step(tiny_model_dir: Path, tmp_path: Path) -> None:
    params = TrainParams(deepspeed="zero2", rank=4, alpha=8, max_steps=1, batch_size=2)
    outcome = train_adapter(tiny_model_dir, task_a(4), [], params, tmp_path)
    assert outcome.steps == 1 and (outcome.output_dir / "adapter_model.safetensors").is_file()
