"""One handler per JobKind. torch, transformers, peft and the `datasets` / `training`
packages are imported inside the handlers only, so the daemon starts fast."""

from __future__ import annotations

from mochi.trainer.jobs.context import JobHandler
from mochi.trainer.jobs.handlers.build_dataset import BuildDatasetHandler
from mochi.trainer.jobs.handlers.continual import ContinualHandler
from mochi.trainer.jobs.handlers.env import HandlerEnv
from mochi.trainer.jobs.handlers.evaluate import EvalHandler
from mochi.trainer.jobs.handlers.finetune import FinetuneHandler
from mochi.trainer.jobs.handlers.train_experts import TrainExpertsHandler
from mochi.trainer.protocol import JobKind


def default_handlers(env: HandlerEnv) -> dict[JobKind, JobHandler]:
    return {
        JobKind.BUILD_DATASET: BuildDatasetHandler(env),
        JobKind.FINETUNE: FinetuneHandler(env),
        JobKind.CONTINUAL: ContinualHandler(env),
        JobKind.EVAL: EvalHandler(env),
        JobKind.TRAIN_EXPERTS: TrainExpertsHandler(env),
    }


__all__ = ["HandlerEnv", "default_handlers"]
