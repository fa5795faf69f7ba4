"""DeepSpeed ZeRO through accelerate, built from `TrainParams.deepspeed`."""

from __future__ import annotations

from typing import Any

from mochi.trainer.training.model_setup import Placement
from mochi.trainer.training.params import TrainParams

ZERO_STAGES = {"zero2": 2, "zero3": 3}


def deepspeed_accelerator(params: TrainParams, where: Placement) -> Any:
    """An `accelerate.Accelerator` with a ZeRO-2/3 plugin (micro-batch, accumulation and
    clipping from the params). Run under `accelerate launch` for several GPUs."""
    from accelerate import Accelerator, DeepSpeedPlugin  # type: ignore[import-untyped]

    from mochi.trainer.training.loop import GRAD_CLIP

    plugin = DeepSpeedPlugin(
        zero_stage=ZERO_STAGES[params.deepspeed],
        gradient_accumulation_steps=params.grad_accum,
        gradient_clipping=GRAD_CLIP,
    )
    plugin.deepspeed_config["train_micro_batch_size_per_gpu"] = params.batch_size
    return Accelerator(
        deepspeed_plugin=plugin,
        mixed_precision="bf16" if where.bf16 else "no",
        gradient_accumulation_steps=params.grad_accum,
    )
