"""`build-dataset`: build the workspace's dataset and save it (with its card)."""

from __future__ import annotations

from typing import Any

from mochi.trainer.jobs.context import JobContext
from mochi.trainer.jobs.handlers.dataset_step import DATASET_DIR, job_dataset
from mochi.trainer.jobs.handlers.env import HandlerEnv, job_params, workspace_head, workspace_root


class BuildDatasetHandler:
    def __init__(self, env: HandlerEnv) -> None:
        self.env = env

    def __call__(self, ctx: JobContext) -> dict[str, Any]:
        params = job_params(ctx)
        root = workspace_root(ctx)
        model_dir = self.env.model_dir(params)
        head = workspace_head(root)
        built = job_dataset(ctx, root, model_dir, params, commit=head or None)
        card = built.card
        return {
            "path": str(ctx.workdir / DATASET_DIR),
            "hash": card.sha256,
            "train": len(built.train),
            "eval": len(built.eval),
            "commit_range": [card.first_commit, card.last_commit],
            "summary": card.summary(),
        }
