"""`finetune`: train an adapter on the workspace, gate it, publish it. With the served
pipeline at hand, the newest commits are held out: the adapter learns the repository up
to the commit before them, and must complete their lines better than the version in
service (or the base model) to be published."""

from __future__ import annotations

from typing import Any

from mochi.trainer.jobs.context import JobContext
from mochi.trainer.jobs.handlers.dataset_step import job_dataset
from mochi.trainer.jobs.handlers.env import (
    HandlerEnv,
    held_out_for,
    job_params,
    workspace_head,
    workspace_root,
)
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
        held = held_out_for(ctx, self.env, root, head, params)
        commit = held.cut if held is not None else head
        built = job_dataset(ctx, root, model_dir, params, commit=commit or None)
        plan = TrainPlan(model_dir, base_model_id(model_dir), built, commit=commit, held_out=held)
        return train_gate_publish(ctx, self.env, params, plan)
