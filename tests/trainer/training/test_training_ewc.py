"""EWC: the penalty and its gradient, the Fisher diagonal, online decay, and that it
keeps a tiny model from forgetting task A while it learns task B."""

from __future__ import annotations

from pathlib import Path

import pytest
from training_tasks import task_a, task_b

from mochi.trainer.training.ewc import (
    EWCPenalty,
    combine_online,
    diag_fisher,
    load_fisher,
    save_fisher,
)


def _tensors(seed: int) -> dict[str, object]:
    import torch

    gen = torch.Generator().manual_seed(seed)
    return {"a": torch.randn(3, 4, generator=gen), "b": torch.randn(5, generator=gen)}


def test_penalty_is_zero_at_theta_star() -> None:
    fisher = {k: v.abs() for k, v in _tensors(1).items()}  # type: ignore[attr-defined]
    theta = _tensors(2)
    penalty = EWCPenalty(fisher, theta, ewc_lambda=7.0)  # type: ignore[arg-type]
    assert float(penalty(theta)) == 0.0  # type: ignore[arg-type]


def test_penalty_value_and_gradient() -> None:
    import torch

    fisher = {k: v.abs() for k, v in _tensors(1).items()}  # type: ignore[attr-defined]
    theta_star, start = _tensors(2), _tensors(3)
    params = {k: v.clone().requires_grad_(True) for k, v in start.items()}  # type: ignore[attr-defined]
    lam = 3.5
    value = EWCPenalty(fisher, theta_star, lam)(params)  # type: ignore[arg-type]
    expected = sum(
        (fisher[k] * (start[k] - theta_star[k]) ** 2).sum()
        for k in fisher  # type: ignore[operator]
    )
    assert float(value) == pytest.approx(lam / 2 * float(expected), rel=1e-6)
    value.backward()
    for k in fisher:
        torch.testing.assert_close(params[k].grad, lam * fisher[k] * (start[k] - theta_star[k]))


def test_online_decay_combines_old_and_new() -> None:
    import torch

    old, new = _tensors(4), _tensors(5)
    combined = combine_online(old, new, gamma=0.25)  # type: ignore[arg-type]
    for k in new:
        torch.testing.assert_close(combined[k], 0.25 * old[k] + new[k])  # type: ignore[operator]
    only_new = combine_online({}, new, gamma=0.25)  # type: ignore[arg-type]
    torch.testing.assert_close(only_new["a"], new["a"])


def test_fisher_is_non_negative_on_trainable_params_and_round_trips(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from mochi.trainer.training.data import collate, encode_sample
    from mochi.trainer.training.model_setup import load_tokenizer, trainable_parameters

    torch.manual_seed(0)
    model = get_peft_model(
        AutoModelForCausalLM.from_pretrained(tiny_model_dir),
        LoraConfig(r=2, target_modules=["q_proj", "v_proj"], init_lora_weights=False),
    )
    tokenizer = load_tokenizer(tiny_model_dir)
    batches = [collate([encode_sample(tokenizer, s, 64)], 0) for s in task_a(6)]
    fisher = diag_fisher(model, batches)
    trainable = trainable_parameters(model)
    assert set(fisher) == set(trainable) and all("lora_" in name for name in fisher)
    assert all((f >= 0).all() for f in fisher.values())
    assert sum(float(f.sum()) for f in fisher.values()) > 0
    assert all(p.grad is None for p in trainable.values())  # leaves no gradients behind

    theta = {n: p.detach() for n, p in trainable.items()}
    loaded_fisher, loaded_theta = load_fisher(
        save_fisher(tmp_path / "f.safetensors", fisher, theta)
    )
    for name in fisher:
        assert loaded_fisher[name].equal(fisher[name]) and loaded_theta[name].equal(theta[name])


@pytest.mark.slow
def test_ewc_forgets_task_a_less_than_plain_training(tiny_model_dir: Path, tmp_path: Path) -> None:
    from mochi.trainer.training.evaluate import evaluate_model
    from mochi.trainer.training.params import TrainParams
    from mochi.trainer.training.run import PreviousAdapter, train_adapter

    settings = {
        "rank": 4,
        "alpha": 8,
        "learning_rate": 5e-3,
        "warmup_steps": 2,
        "max_steps": 30,
        "batch_size": 4,
        "dropout": 0.0,
        "checkpoint_every": 0,
        "fisher_samples": 24,
    }
    held_out_a = task_a(8, offset=100)
    a = train_adapter(
        tiny_model_dir, task_a(24), held_out_a, TrainParams(**settings), tmp_path / "a"
    )
    assert a.eval is not None and a.fisher_path is not None
    previous = PreviousAdapter(a.output_dir, fisher=a.fisher_path)

    increase = {}
    for lam in (0.0, 1000.0):
        b = train_adapter(
            tiny_model_dir,
            task_b(24),
            [],
            TrainParams(**settings, ewc_lambda=lam),
            tmp_path / f"b-{lam}",
            previous=previous,
        )
        after = evaluate_model(tiny_model_dir, b.output_dir, held_out_a, max_new_tokens=1)
        increase[lam] = after.loss - a.eval.loss
    assert increase[0.0] > 0.3  # plain training on B clearly forgets A
    assert increase[1000.0] < 0.5 * increase[0.0]
