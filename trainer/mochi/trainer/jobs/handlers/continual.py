"""`continual`: continue the adapter in service on the commits since it was trained, with
EWC (λ, γ from params.train) and replay, then gate and publish.

EWC is on by default for adapters: λ = 1e5 unless `params.train.ewc_lambda` says
otherwise (at that strength EWC kept SmolLM2's LoRA from forgetting in
docs/benchmarks/continual.md; λ = 1000 made no difference there). A full fine-tune
gets no default λ: its Fisher is as large as the model.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from mochi.trainer.jobs.context import JobContext
from mochi.trainer.jobs.errors import JobFailed
from mochi.trainer.jobs.handlers.dataset_step import job_dataset
from mochi.trainer.jobs.handlers.env import (
    HandlerEnv,
    held_out_for,
    job_params,
    workspace_head,
    workspace_root,
)
from mochi.trainer.jobs.handlers.train_step import TrainPlan, train_gate_publish
from mochi.trainer.registry import UnknownAdapter, base_model_id

DEFAULT_EWC_LAMBDA = 1e5


def continual_train_params(train: dict[str, Any]) -> dict[str, Any]:
    """params.train for a continual job: the user's values, with EWC on by default."""
    if "ewc_lambda" in train or train.get("strategy", "lora") == "full":
        return dict(train)
    return {**train, "ewc_lambda": DEFAULT_EWC_LAMBDA}


class ContinualHandler:
    def __init__(self, env: HandlerEnv) -> None:
        self.env = env

    def __call__(self, ctx: JobContext) -> dict[str, Any]:
        params = job_params(ctx)
        root = workspace_root(ctx)
        model_dir = self.env.model_dir(params)
        name = ctx.job.adapter
        try:
            current = self.env.registry.get(name)
        except UnknownAdapter as exc:
            raise JobFailed(f"{exc}: submit a finetune job for it first") from None
        base = base_model_id(model_dir)
        self.env.registry.check_base(current, base)
        head = workspace_head(root)
        if not head:
            raise JobFailed(f"workspace {root} has no commits to continue on")
        if head == current.commit:
            return {
                "published": False,
                "reason": f"no new commits since {current.version} ({head[:12]})",
                "previous_version": current.version,
            }
        held = held_out_for(ctx, self.env, root, head, params)
        upto = head
        if held is not None:
            if not _learns_something(root, current.commit, held.cut):
                return {
                    "published": False,
                    "reason": f"no new commits since {current.version} ({current.commit[:12]}) "
                    f"before the {held.commits} held out for the gate",
                    "previous_version": current.version,
                }
            upto = held.cut
        built = job_dataset(
            ctx, root, model_dir, params, commit=upto, changed_since=current.commit or None
        )
        if not built.train:
            return {
                "published": False,
                "reason": f"no new training samples between {current.commit[:12]} and {upto[:12]}",
                "previous_version": current.version,
            }
        plan = TrainPlan(model_dir, base, built, commit=upto, previous=current, held_out=held)
        params = params.model_copy(update={"train": continual_train_params(params.train)})
        return train_gate_publish(ctx, self.env, params, plan)


def _learns_something(root: Path, trained: str, cut: str) -> bool:
    """Whether `cut` is a later commit than the one the version in service was trained on."""
    if not trained:
        return True
    if trained == cut:
        return False
    done = subprocess.run(
        ["git", "-C", str(root), "merge-base", "--is-ancestor", trained, cut],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0
