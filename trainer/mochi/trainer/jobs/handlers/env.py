"""What every handler shares: the registry and the daemon's default base model."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mochi.trainer.jobs.context import JobContext
from mochi.trainer.jobs.errors import JobFailed
from mochi.trainer.jobs.params import parse_params
from mochi.trainer.registry import AdapterRegistry


@dataclass(frozen=True)
class HandlerEnv:
    registry: AdapterRegistry
    base_model: Path | None = None  # used when a job names none

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
    """The job's params, parsed again (they were validated when it was submitted)."""
    return parse_params(ctx.job.kind, ctx.job.params)


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
