"""`train_adapter`: one training task from samples to a saved adapter, its scores, its
Fisher information and its replay buffer — continuing a previous adapter when given."""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mochi.trainer.samples import Sample
from mochi.trainer.training.data import (
    BatchSource,
    collate,
    encode_sample,
    fingerprint,
    pad_token_id,
)
from mochi.trainer.training.evaluate import EvalScores, evaluate
from mochi.trainer.training.ewc import (
    FISHER_FILE,
    EWCPenalty,
    combine_online,
    diag_fisher,
    load_fisher,
    save_fisher,
)
from mochi.trainer.training.history import StepLog
from mochi.trainer.training.loop import train_loop
from mochi.trainer.training.model_setup import (
    check_available,
    load_for_training,
    load_tokenizer,
    placement,
    trainable_parameters,
)
from mochi.trainer.training.params import TrainingError, TrainParams
from mochi.trainer.training.replay import REPLAY_FILE, choose_replay, load_replay, save_replay

CHECKPOINTS_DIR = "checkpoints"
OUTPUT_DIR = "output"

ProgressFn = Callable[[str, int, int], None]


@dataclass
class PreviousAdapter:
    """The adapter a continual run starts from, with its Fisher (+θ*) and replay buffer."""

    path: Path
    fisher: Path | None = None
    replay: Path | None = None


@dataclass
class TrainOutcome:
    output_dir: Path  # the peft adapter (or the full model for strategy "full")
    fisher_path: Path | None
    replay_path: Path | None
    steps: int
    train_loss: float  # mean training loss of the last steps
    eval: EvalScores | None  # None when there were no eval samples
    resumed_from_step: int | None
    strategy: str


def train_adapter(
    model_dir: Path,
    train: Sequence[Sample],
    eval: Sequence[Sample],
    params: TrainParams,
    workdir: Path,
    *,
    previous: PreviousAdapter | None = None,
    progress: ProgressFn | None = None,
    should_cancel: Callable[[], bool] | None = None,
    trust_remote_code: bool = False,
    step_log: StepLog | None = None,
) -> TrainOutcome:
    """Train on `train`, checkpointing into `workdir/checkpoints/` (and resuming from it),
    then write `workdir/output/`: the adapter, `fisher.safetensors`, `replay.jsonl`.

    Raises TrainingCancelled (after a checkpoint) when `should_cancel()` answers True, and
    TrainingError when the run cannot start (QLoRA without CUDA, a checkpoint from other
    parameters, a previous adapter that does not fit, ...)."""
    check_available(params)
    if not train:
        raise TrainingError("no training samples")
    params = params.sized(len(train))
    where = placement(params)
    _seed_everything(params.seed)
    workdir.mkdir(parents=True, exist_ok=True)

    tokenizer = load_tokenizer(model_dir, trust_remote_code=trust_remote_code)
    model = load_for_training(
        model_dir,
        params,
        where,
        previous_adapter=previous.path if previous else None,
        trust_remote_code=trust_remote_code,
    )
    previous_replay = load_replay(previous.replay if previous else None)
    batches = BatchSource(
        [encode_sample(tokenizer, s, params.max_seq_len) for s in train],
        [encode_sample(tokenizer, s, params.max_seq_len) for s in previous_replay],
        batch_size=params.batch_size,
        grad_accum=params.grad_accum,
        replay_ratio=params.replay_ratio,
        seed=params.seed,
        pad_id=pad_token_id(tokenizer),
    )
    old_fisher, penalty = _previous_fisher(model, previous, params, where.device)

    accelerator = None
    if params.deepspeed:
        from mochi.trainer.training.distributed import deepspeed_accelerator

        accelerator = deepspeed_accelerator(params, where)
    result = train_loop(
        model,
        batches,
        params,
        where,
        workdir / CHECKPOINTS_DIR,
        data_digest=fingerprint([*train, *previous_replay]),
        penalty=penalty,
        accelerator=accelerator,
        progress=progress,
        should_cancel=should_cancel,
        step_log=step_log,
    )

    staging = workdir / f".tmp-{OUTPUT_DIR}"
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(staging)
    if not params.uses_lora:
        tokenizer.save_pretrained(staging)

    scores = None
    if eval:
        scores = evaluate(
            model,
            tokenizer,
            eval,
            max_seq_len=params.max_seq_len,
            progress=(lambda d, t: progress("eval", d, t)) if progress else None,
        )

    fisher_path = None
    if params.uses_lora or params.ewc_lambda > 0:
        fisher = _task_fisher(model, tokenizer, train, params, where.device, progress)
        if old_fisher is not None:
            fisher = combine_online(old_fisher, fisher, params.ewc_gamma)
        theta = {n: p.detach() for n, p in trainable_parameters(model).items()}
        save_fisher(staging / FISHER_FILE, fisher, theta)
        fisher_path = FISHER_FILE

    replay = choose_replay(train, previous_replay, params.replay_size, params.seed)
    save_replay(staging / REPLAY_FILE, replay)

    output = workdir / OUTPUT_DIR
    shutil.rmtree(output, ignore_errors=True)
    staging.rename(output)
    return TrainOutcome(
        output_dir=output,
        fisher_path=output / fisher_path if fisher_path else None,
        replay_path=output / REPLAY_FILE,
        steps=result.steps,
        train_loss=result.train_loss,
        eval=scores,
        resumed_from_step=result.resumed_from_step,
        strategy=params.strategy,
    )


def _seed_everything(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _previous_fisher(
    model: Any, previous: PreviousAdapter | None, params: TrainParams, device: str
) -> tuple[dict[str, Any] | None, EWCPenalty | None]:
    """The previous task's Fisher (for online EWC) and the penalty (when λ > 0)."""
    if previous is None or previous.fisher is None:
        return None, None
    if not previous.fisher.is_file():
        raise TrainingError(f"the previous Fisher file {previous.fisher} does not exist")
    fisher, theta = load_fisher(previous.fisher)
    if params.ewc_lambda <= 0:
        return fisher, None
    penalty = EWCPenalty(fisher, theta, params.ewc_lambda)
    penalty.check_matches(trainable_parameters(model))
    return fisher, penalty.to(device)


def _task_fisher(
    model: Any,
    tokenizer: Any,
    train: Sequence[Sample],
    params: TrainParams,
    device: str,
    progress: ProgressFn | None,
) -> dict[str, Any]:
    count = min(params.fisher_samples, len(train))
    chosen = random.Random(params.seed).sample(range(len(train)), count)
    pad = pad_token_id(tokenizer)
    batches = (
        {
            k: v.to(device)
            for k, v in collate(
                [encode_sample(tokenizer, train[i], params.max_seq_len)], pad
            ).items()
        }
        for i in chosen
    )
    return diag_fisher(
        model,
        batches,
        progress=(lambda done: progress("fisher", done, count)) if progress else None,
    )
