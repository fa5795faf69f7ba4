"""The training loop, nanoGPT-style: AdamW, warm-up then cosine decay, gradient
accumulation, clipping, an optional EWC penalty, checkpoints and exact resume."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mochi.trainer.training.checkpoint import (
    Progress,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from mochi.trainer.training.data import BatchSource
from mochi.trainer.training.ewc import EWCPenalty
from mochi.trainer.training.history import StepLog, StepRecord
from mochi.trainer.training.model_setup import Placement, trainable_parameters
from mochi.trainer.training.params import TrainingCancelled, TrainParams
from mochi.trainer.training.schedule import lr_factor

GRAD_CLIP = 1.0
LOSS_WINDOW = 10  # the reported training loss is the mean of the last steps


@dataclass(frozen=True, slots=True)
class LoopResult:
    steps: int
    train_loss: float
    resumed_from_step: int | None


def train_loop(
    model: Any,
    batches: BatchSource,
    params: TrainParams,
    where: Placement,
    checkpoints: Path,
    *,
    data_digest: str,
    penalty: EWCPenalty | None = None,
    accelerator: Any = None,
    progress: Callable[[str, int, int], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    step_log: StepLog | None = None,
) -> LoopResult:
    """Train for `params.max_steps` optimizer steps, resuming from the latest checkpoint.
    `step_log` hears each step's loss and learning rate (`begin` with the step it resumes
    from, `end` whatever way the loop stops).

    With an `accelerator` (DeepSpeed), it owns backward, accumulation and the optimizer
    step; checkpoints are not written in that mode.
    """
    import torch

    params_by_name = trainable_parameters(model)
    optimizer = torch.optim.AdamW(
        list(params_by_name.values()),
        lr=params.learning_rate,
        weight_decay=params.weight_decay,
        betas=(0.9, 0.95),
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(step, params.warmup_steps, params.max_steps)
    )
    state = Progress()
    resumed_from: int | None = None
    saved = latest_checkpoint(checkpoints) if accelerator is None else None
    if saved is not None:
        state = load_checkpoint(
            saved,
            model=model,
            optimizer=optimizer,
            scheduler=scheduler,
            params=params,
            data_digest=data_digest,
        )
        resumed_from = state.step
    if accelerator is not None:
        model, optimizer, scheduler = accelerator.prepare(model, optimizer, scheduler)
        params_by_name = trainable_parameters(model)
        if not accelerator.is_main_process:
            step_log = None  # one history per run, not one per GPU

    def checkpoint() -> None:
        if accelerator is None:
            save_checkpoint(
                checkpoints,
                state,
                model=model,
                optimizer=optimizer,
                scheduler=scheduler,
                params=params,
                data_digest=data_digest,
            )

    def autocast() -> contextlib.AbstractContextManager[Any]:
        if not where.bf16:
            return contextlib.nullcontext()
        return torch.autocast(device_type=where.device, dtype=torch.bfloat16)

    model.train()
    if step_log is not None:
        step_log.begin(state.step)
    try:
        while state.step < params.max_steps:
            if should_cancel is not None and should_cancel():
                checkpoint()
                raise TrainingCancelled(f"training cancelled after step {state.step}")

            step_loss = 0.0
            for micro in range(params.grad_accum):
                batch = {k: v.to(where.device) for k, v in batches.get(state.step, micro).items()}
                with autocast():
                    loss = model(**batch).loss
                step_loss += loss.item() / params.grad_accum
                if penalty is not None:
                    loss = loss + penalty(params_by_name)
                if accelerator is not None:
                    accelerator.backward(loss)
                else:
                    (loss / params.grad_accum).backward()
            if accelerator is not None:
                accelerator.clip_grad_norm_(list(params_by_name.values()), GRAD_CLIP)
            else:
                torch.nn.utils.clip_grad_norm_(list(params_by_name.values()), GRAD_CLIP)
            lr = float(optimizer.param_groups[0]["lr"])  # this step's (before the scheduler's)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)

            state.step += 1
            state.position = batches.position(state.step)
            state.losses.append(step_loss)
            if step_log is not None:
                step_log.step(StepRecord(state.step, step_loss, lr, time.time()))
            if progress is not None:
                progress("train", state.step, params.max_steps)
            if params.checkpoint_every and state.step % params.checkpoint_every == 0:
                checkpoint()
    finally:
        if step_log is not None:
            step_log.end()

    if accelerator is not None:
        model = accelerator.unwrap_model(model)
    window = state.losses[-LOSS_WINDOW:]
    return LoopResult(
        steps=state.step,
        train_loss=sum(window) / len(window) if window else float("nan"),
        resumed_from_step=resumed_from,
    )
