"""What every handler shares: the registry, the daemon's default base model and the
served completion pipeline the gate scores versions with."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mochi.trainer.jobs.context import JobContext
from mochi.trainer.jobs.errors import JobFailed
from mochi.trainer.jobs.params import parse_params
from mochi.trainer.registry import AdapterRegistry

if TYPE_CHECKING:
    from mochi.trainer.jobs.future_gate import HeldOut, VersionCompleters


@dataclass(frozen=True)
class HandlerEnv:
    registry: AdapterRegistry
    base_model: Path | None = None  # used when a job names none
    # The language server's pipeline, handed in by the composition root (`mochi trainer
    # serve`); None: the gate compares held-out samples only.
    completers: VersionCompleters | None = None

    def model_dir(self, params: Any) -> Path:
        chosen = Path(params.base_model) if params.base_model else self.base_model
        if chosen is None:
            raise JobFailed(
                "no base model: pass params.base_model or start the daemon with --base-model"
            )
        if not (chosen / "config.json").is_file():
            raise JobFailed(f"base model {chosen} is not a model folder (no config.json)")
        return chosen


def job_params(ctx: JobContext) -> Any:
    """The job's params, parsed again (they were validated when it was submitted), on top
    of mochi's recipe for learning a repository (`training.recipe`)."""
    from mochi.trainer.training.recipe import with_recipe

    parsed = parse_params(ctx.job.kind, ctx.job.params)
    dataset, train = with_recipe(parsed.dataset, getattr(parsed, "train", {}))
    update: dict[str, Any] = {"dataset": dataset}
    if hasattr(parsed, "train"):
        update["train"] = train
    return parsed.model_copy(update=update)


def workspace_root(ctx: JobContext) -> Path:
    root = Path(ctx.job.workspace)
    if not root.is_dir():
        raise JobFailed(f"workspace {root} is not a folder on the daemon's machine")
    return root


def workspace_head(root: Path) -> str:
    """The commit checked out in `root`, "" when it is no git repository (or has none)."""
    done = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--verify", "-q", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() if done.returncode == 0 else ""


def held_out_for(
    ctx: JobContext, env: HandlerEnv, root: Path, head: str, params: Any
) -> HeldOut | None:
    """The newest `params.gate_commits` commits and their lines, when the daemon can
    complete them (`env.completers`) and the history is long enough; else None."""
    if env.completers is None or params.gate_commits <= 0 or not head:
        return None
    from mochi.trainer.jobs.future_gate import held_out_commits

    ctx.report("gate: held-out commits", 0, 0, f"the newest {params.gate_commits} commits")
    return held_out_commits(root, head, params.gate_commits, params.gate_tasks)
