"""A continual job runs EWC unless told otherwise (full fine-tunes excepted)."""

from __future__ import annotations

from mochi.trainer.jobs.handlers.continual import DEFAULT_EWC_LAMBDA, continual_train_params
from mochi.trainer.training.params import TrainParams


def test_ewc_is_on_by_default_for_adapters() -> None:
    params = TrainParams.from_dict(continual_train_params({"rank": 8}))
    assert params.ewc_lambda == DEFAULT_EWC_LAMBDA > 0 and params.rank == 8
    assert continual_train_params({"strategy": "dora"})["ewc_lambda"] == DEFAULT_EWC_LAMBDA


def test_the_users_lambda_and_full_fine_tunes_are_left_alone() -> None:
    assert continual_train_params({"ewc_lambda": 0.0}) == {"ewc_lambda": 0.0}
    assert continual_train_params({"ewc_lambda": 3.0})["ewc_lambda"] == 3.0
    assert "ewc_lambda" not in continual_train_params({"strategy": "full"})
    given = {"rank": 4}
    continual_train_params(given)
    assert given == {"rank": 4}  # the job's own params are not changed
