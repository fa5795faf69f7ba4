"""`finetune`: train an adapter on the workspace as it is now, gate it, publish it."""

from __future__ import annotations

from typing import Any

from mochi.trainer.jobs.context import JobContext
from mochi.trainer.jobs.handlers.dataset_step import job_dataset
from mochi.trainer.jobs.handlers.env import HandlerEnv, job_params, workspace_head, workspace_root
from mochi.trainer.jobs.handlers.train_step import TrainPlan, train_gate_publish
from mochi.trainer.registry import base_model_id


class FinetuneHandler:
    def __init__(self, env: HandlerEnv) -> None:
        self.env = env

    def __call__(self, ctx: JobContext) -> dict[str, Any]:
        params = job_params(ctx)
        root = workspace_root(ctx)
        model_dir = self.env.model_dir(params)
        head = workspace_head(root)
        built = job_dataset(ctx, root, model_dir, params, commit=head or None)
        plan = TrainPlan(model_dir, base_model_id(model_dir), built, commit=head)
        return train_gate_publish(ctx, self.env, params, plan)
