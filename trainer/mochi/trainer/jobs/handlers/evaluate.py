"""`eval`: score the version in service, a given version, or the base model alone on the
held-out split of the workspace's dataset."""

from __future__ import annotations

from typing import Any

from mochi.trainer.jobs.context import JobContext
from mochi.trainer.jobs.errors import JobCancelled
from mochi.trainer.jobs.gate import scores_json
from mochi.trainer.jobs.handlers.dataset_step import job_dataset
from mochi.trainer.jobs.handlers.env import HandlerEnv, job_params, workspace_head, workspace_root
from mochi.trainer.registry import base_model_id


class EvalHandler:
    def __init__(self, env: HandlerEnv) -> None:
        self.env = env

    def __call__(self, ctx: JobContext) -> dict[str, Any]:
        from mochi.trainer.training.evaluate import evaluate_model

        params = job_params(ctx)
        root = workspace_root(ctx)
        model_dir = self.env.model_dir(params)
        adapter_dir = None
        version = "base"
        if params.version != "base":
            manifest = self.env.registry.get(
                ctx.job.adapter, None if params.version == "current" else params.version
            )
            self.env.registry.check_base(manifest, base_model_id(model_dir))
            version = manifest.version
            adapter_dir = self.env.registry.path(manifest.name, manifest.version)
        head = workspace_head(root)
        built = job_dataset(ctx, root, model_dir, params, commit=head or None)
        samples = built.eval[: params.max_samples] if params.max_samples else built.eval
        label = f"scoring {version}"

        def tick(done: int, total: int) -> None:
            ctx.report("eval", done, total, label)
            if ctx.should_cancel():  # raised through the scoring loop, between samples
                raise JobCancelled("cancelled while scoring")

        ctx.report("eval", 0, len(samples), label)
        scores = evaluate_model(model_dir, adapter_dir, samples, progress=tick)
        return {
            "adapter": ctx.job.adapter,
            "version": version,
            "scores": scores_json(scores),
            "dataset_hash": built.card.sha256,
            "commit": head,
        }
