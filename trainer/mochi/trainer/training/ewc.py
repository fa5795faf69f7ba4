"""Elastic weight consolidation over the trainable (LoRA) parameters.

After moskomule/ewc.pytorch (`_diag_fisher`, `penalty`) with avalanche's online mode:
the Fisher diagonal F is the mean squared gradient of the per-sample loss at the trained
weights θ*; the penalty while learning the next task is λ/2 · Σ F·(θ − θ*)²; the Fisher
kept for the task after that is γ·F_old + F_new.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mochi.trainer.training.params import TrainingError

if TYPE_CHECKING:
    import torch

FISHER_FILE = "fisher.safetensors"
_FISHER_PREFIX = "fisher."
_THETA_PREFIX = "theta."


def diag_fisher(
    model: Any,
    batches: Iterable[Mapping[str, torch.Tensor]],
    *,
    progress: Callable[[int], None] | None = None,
) -> dict[str, torch.Tensor]:
    """Mean over `batches` (one sample each) of the squared gradient of its loss, for each
    trainable parameter. Dropout is off while it is measured."""
    import torch

    params = {name: p for name, p in model.named_parameters() if p.requires_grad}
    fisher = {name: torch.zeros_like(p, dtype=torch.float32) for name, p in params.items()}
    was_training = model.training
    model.eval()
    count = 0
    try:
        for batch in batches:
            model.zero_grad(set_to_none=True)
            model(**batch).loss.backward()
            for name, p in params.items():
                if p.grad is not None:
                    fisher[name] += p.grad.detach().float() ** 2
            count += 1
            if progress is not None:
                progress(count)
    finally:
        model.zero_grad(set_to_none=True)
        model.train(was_training)
    if count == 0:
        raise TrainingError("no samples to estimate the Fisher information from")
    return {name: value / count for name, value in fisher.items()}


def combine_online(
    old: Mapping[str, torch.Tensor], new: Mapping[str, torch.Tensor], gamma: float
) -> dict[str, torch.Tensor]:
    """Online EWC: γ·F_old + F_new (a parameter only in `new` keeps F_new)."""
    return {name: (gamma * old[name] + f) if name in old else f.clone() for name, f in new.items()}


class EWCPenalty:
    """λ/2 · Σ F·(θ − θ*)² over the parameters named in `fisher`."""

    def __init__(
        self,
        fisher: Mapping[str, torch.Tensor],
        theta_star: Mapping[str, torch.Tensor],
        ewc_lambda: float,
    ) -> None:
        missing = sorted(set(fisher) ^ set(theta_star))
        if missing:
            raise TrainingError(f"Fisher and θ* disagree on parameters: {missing[:3]}")
        self.fisher = dict(fisher)
        self.theta_star = dict(theta_star)
        self.ewc_lambda = ewc_lambda

    def to(self, device: str) -> EWCPenalty:
        self.fisher = {k: v.to(device) for k, v in self.fisher.items()}
        self.theta_star = {k: v.to(device) for k, v in self.theta_star.items()}
        return self

    def check_matches(self, params: Mapping[str, torch.Tensor]) -> None:
        """The previous task's parameters must be this model's trainable ones."""
        for name, value in self.fisher.items():
            if name not in params:
                raise TrainingError(
                    f"the previous Fisher names {name!r}, which this model does not train; "
                    "continue with the same strategy and LoRA configuration"
                )
            if tuple(params[name].shape) != tuple(value.shape):
                raise TrainingError(
                    f"the previous Fisher of {name!r} has shape {tuple(value.shape)}, "
                    f"the parameter {tuple(params[name].shape)}"
                )

    def __call__(self, params: Mapping[str, torch.Tensor]) -> torch.Tensor:
        terms = [
            (self.fisher[name] * (params[name].float() - self.theta_star[name]) ** 2).sum()
            for name in self.fisher
        ]
        import torch

        total = torch.stack(terms).sum() if terms else torch.zeros(())
        return 0.5 * self.ewc_lambda * total


def save_fisher(
    path: Path, fisher: Mapping[str, torch.Tensor], theta_star: Mapping[str, torch.Tensor]
) -> Path:
    """One safetensors file: `fisher.<name>` and `theta.<name>` for each parameter."""
    from safetensors.torch import save_file

    tensors = {_FISHER_PREFIX + k: v.detach().float().cpu().contiguous() for k, v in fisher.items()}
    tensors |= {
        _THETA_PREFIX + k: v.detach().float().cpu().contiguous() for k, v in theta_star.items()
    }
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata={"format": "mochi-ewc-1"})
    tmp.replace(path)
    return path


def load_fisher(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(Fisher, θ*) as saved by `save_fisher`."""
    from safetensors.torch import load_file

    try:
        tensors = load_file(str(path))
    except (OSError, ValueError) as exc:
        raise TrainingError(f"cannot read the Fisher file {path}: {exc}") from exc
    fisher = {
        k[len(_FISHER_PREFIX) :]: v for k, v in tensors.items() if k.startswith(_FISHER_PREFIX)
    }
    theta = {k[len(_THETA_PREFIX) :]: v for k, v in tensors.items() if k.startswith(_THETA_PREFIX)}
    return fisher, theta
