"""TrainParams: defaults, validation that names the field, and from_dict."""

from __future__ import annotations

import pytest

from mochi.trainer.training.params import Strategy, TrainParams
from mochi.trainer.training.schedule import MIN_LR_FACTOR, lr_factor


def test_defaults_are_valid_and_round_trip() -> None:
    params = TrainParams()
    assert params.strategy == Strategy.LORA
    assert TrainParams.from_dict(params.to_dict()) == params


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"strategy": "prefix"}, "strategy"),
        ({"precision": "fp16"}, "precision"),
        ({"deepspeed": "zero1"}, "deepspeed"),
        ({"rank": 0}, "rank"),
        ({"max_steps": -1}, "max_steps"),
        ({"learning_rate": -1e-4}, "learning_rate"),
        ({"warmup_steps": -2}, "warmup_steps"),
        ({"dropout": 1.0}, "dropout"),
        ({"ewc_lambda": -0.5}, "ewc_lambda"),
        ({"ewc_gamma": 1.5}, "ewc_gamma"),
        ({"replay_ratio": 1.0}, "replay_ratio"),
        ({"batch_size": "4"}, "batch_size"),
        ({"gradient_checkpointing": 1}, "gradient_checkpointing"),
    ],
)
def test_bad_values_name_the_field(data: dict[str, object], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        TrainParams.from_dict(data)


def test_bad_strategy_lists_the_allowed_values() -> None:
    with pytest.raises(ValueError, match=r"lora.*dora.*qlora.*full"):
        TrainParams(strategy="adapter")


def test_unknown_key_is_named() -> None:
    with pytest.raises(ValueError, match="lora_rank"):
        TrainParams.from_dict({"lora_rank": 8})


def test_from_dict_takes_json_lists() -> None:
    params = TrainParams.from_dict({"target_modules": ["q_proj", "v_proj"], "strategy": "dora"})
    assert params.target_modules == ("q_proj", "v_proj")
    assert params.uses_lora and not TrainParams(strategy="full").uses_lora


def test_schedule_warms_up_then_decays_to_a_tenth() -> None:
    factors = [lr_factor(step, 4, 20) for step in range(20)]
    assert factors[:5] == sorted(factors[:5])  # warm-up rises
    assert factors[4] == pytest.approx(1.0)
    assert factors[4:] == sorted(factors[4:], reverse=True)  # then decays
    assert lr_factor(20, 4, 20) == pytest.approx(MIN_LR_FACTOR)
