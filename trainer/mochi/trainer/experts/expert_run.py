"""Train one expert of a set on its domain's samples, score it on its domain's held-out
samples and publish it into the adapter registry as its own adapter (`<set>.<domain>`):
its versions, manifest and EWC state (Fisher + θ*, replay buffer) are its own, so a
continual run continues each expert from its own last version."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mochi.trainer.registry import AdapterRegistry, BaseModelId, Manifest
from mochi.trainer.registry.store import check_adapter_name
from mochi.trainer.samples import Sample
from mochi.trainer.training.params import TrainParams

ProgressFn = Callable[[str, int, int], None]


def expert_adapter_name(set_name: str, domain: str) -> str:
    """The registry name of a set's expert; raises ValueError when it does not fit."""
    return check_adapter_name(f"{set_name}.{domain}")


@dataclass(frozen=True)
class ExpertTask:
    adapter: str  # registry name, `expert_adapter_name(set, domain)`
    train: Sequence[Sample]
    eval: Sequence[Sample]  # its domain's held-out samples (may be empty)
    previous: Manifest | None = None  # continual: the version it continues (EWC, replay)


@dataclass(frozen=True)
class ExpertRunInputs:
    """What every expert of one job shares."""

    registry: AdapterRegistry
    model_dir: Path
    base: BaseModelId
    params: TrainParams
    job_id: str
    commit: str
    dataset_hash: str
    trust_remote_code: bool = False
    eval_limit: int = 48
    progress: ProgressFn = field(default=lambda _stage, _done, _total: None)
    should_cancel: Callable[[], bool] = field(default=lambda: False)


def train_expert(task: ExpertTask, inputs: ExpertRunInputs, workdir: Path) -> Manifest:
    """The expert's new version (published, not made current: the set that names it
    puts it in service). A job that published it already (and died before the set was
    published) gets that version back instead of training again. Raises
    TrainingCancelled and TrainingError as train_adapter does."""
    from mochi.trainer.training.evaluate import evaluate_model
    from mochi.trainer.training.run import PreviousAdapter, train_adapter

    registry = inputs.registry
    done = [m for m in registry.versions(task.adapter) if m.job_id == inputs.job_id]
    if done:
        return done[-1]
    previous = None
    if task.previous is not None:
        folder = registry.path(task.adapter, task.previous.version)
        previous = PreviousAdapter(
            path=folder,
            fisher=folder / task.previous.fisher if task.previous.fisher else None,
            replay=folder / task.previous.replay if task.previous.replay else None,
        )
    outcome = train_adapter(
        inputs.model_dir,
        task.train,
        [],
        inputs.params,
        workdir,
        previous=previous,
        progress=inputs.progress,
        should_cancel=inputs.should_cancel,
        trust_remote_code=inputs.trust_remote_code,
    )
    metrics: dict[str, float] = {}
    held_out = list(task.eval[: inputs.eval_limit])
    if held_out:
        scores = evaluate_model(
            inputs.model_dir,
            outcome.output_dir,
            held_out,
            max_seq_len=inputs.params.max_seq_len,
            trust_remote_code=inputs.trust_remote_code,
            progress=lambda d, t: inputs.progress("eval", d, t),
        )
        metrics = {"loss": scores.loss, "next_line_em": scores.next_line_em, "count": scores.count}
    return registry.publish(
        outcome.output_dir,
        Manifest(
            name=task.adapter,
            version="",
            base_model=inputs.base.name,
            base_model_hash=inputs.base.fingerprint,
            dataset_hash=inputs.dataset_hash,
            commit=inputs.commit,
            metrics=metrics,
            previous_metrics=dict(task.previous.metrics) if task.previous else {},
            previous_version=task.previous.version if task.previous else "",
            fisher=outcome.fisher_path.name if outcome.fisher_path else "",
            replay=outcome.replay_path.name if outcome.replay_path else "",
            strategy=str(outcome.strategy),
            steps=int(outcome.steps),
            job_id=inputs.job_id,
        ),
        make_current=False,
    )
