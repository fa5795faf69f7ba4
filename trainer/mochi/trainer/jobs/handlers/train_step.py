"""Train a candidate adapter, gate it against the version in service, publish it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mochi.trainer.jobs.context import JobContext
from mochi.trainer.jobs.errors import JobCancelled, JobFailed
from mochi.trainer.jobs.gate import FutureComparison, gate, scores_json
from mochi.trainer.jobs.handlers.env import HandlerEnv
from mochi.trainer.registry import BaseModelId, Manifest, UnknownAdapter

if TYPE_CHECKING:
    from mochi.trainer.datasets import BuiltDataset
    from mochi.trainer.jobs.future_gate import HeldOut

TRAIN_DIR = "train"
GATE_LOSS_STAGE = "gate: held-out samples"
FUTURE_STAGE = "gate: held-out commits"


@dataclass(frozen=True)
class TrainPlan:
    model_dir: Path
    base: BaseModelId
    built: BuiltDataset
    commit: str  # what the new version is trained up to
    previous: Manifest | None = None  # continual: the version it continues
    held_out: HeldOut | None = None  # the newest commits, for the gate (not trained on)


def train_gate_publish(
    ctx: JobContext, env: HandlerEnv, params: Any, plan: TrainPlan
) -> dict[str, Any]:
    from mochi.trainer.training.evaluate import evaluate_model
    from mochi.trainer.training.history import RunHistory
    from mochi.trainer.training.params import TrainingCancelled, TrainParams
    from mochi.trainer.training.run import PreviousAdapter, train_adapter

    registry, name = env.registry, ctx.job.adapter
    already = [m for m in registry.versions(name) if m.job_id == ctx.job.id]
    if already:  # a daemon died between publishing and recording the result
        return _published(env, already[0], resumed_from_step=0)
    previous = None
    if plan.previous is not None:
        folder = registry.path(name, plan.previous.version)
        previous = PreviousAdapter(
            path=folder,
            fisher=folder / plan.previous.fisher if plan.previous.fisher else None,
            replay=folder / plan.previous.replay if plan.previous.replay else None,
        )
    train_params = TrainParams.from_dict(params.train)
    # The gate scores both versions below, the same way; training need not score too.
    held_out = plan.built.eval[: params.gate_samples]
    history = RunHistory(ctx.workdir)  # loss.jsonl and tensorboard/ (the dashboard reads them)
    try:
        outcome = train_adapter(
            plan.model_dir,
            plan.built.train,
            [],
            train_params,
            ctx.workdir / TRAIN_DIR,
            previous=previous,
            progress=ctx.progress,
            should_cancel=ctx.should_cancel,
            trust_remote_code=params.trust_remote_code,
            step_log=history,
        )
    except TrainingCancelled as exc:
        raise JobCancelled(str(exc)) from exc
    if ctx.should_cancel():
        raise JobCancelled("cancelled after training")

    # Both versions are scored the same way on the same (bounded) held-out samples.
    def score(adapter_dir: Path, label: str) -> Any:
        def tick(done: int, total: int) -> None:
            ctx.report(GATE_LOSS_STAGE, done, total, label)
            if ctx.should_cancel():  # raised through the scoring loop, between samples
                raise JobCancelled("cancelled while scoring the held-out samples")

        ctx.report(GATE_LOSS_STAGE, 0, len(held_out), label)
        scores = evaluate_model(
            plan.model_dir,
            adapter_dir,
            held_out,
            max_seq_len=train_params.max_seq_len,
            trust_remote_code=params.trust_remote_code,
            progress=tick,
        )
        return scores

    candidate = score(outcome.output_dir, "the new version")
    in_service = _in_service(env, name, plan.base)
    current_scores = None
    if in_service is not None:
        current_scores = score(
            registry.path(name, in_service.version), f"{in_service.version} (in service)"
        )
    future = _future(ctx, env, plan, outcome.output_dir, in_service)
    decision = gate(candidate, current_scores, params.gate_tolerance, future=future)
    summary: dict[str, Any] = {
        "metrics": {**scores_json(candidate), **_future_json(future, "candidate")},
        "previous_metrics": {**scores_json(current_scores), **_future_json(future, "reference")},
        "gate_reference": future.reference_name if future is not None else "",
        "held_out_commits": _held_out_json(plan.held_out) if future is not None else {},
        "previous_version": in_service.version if in_service else "",
        "steps": outcome.steps,
        "train_loss": outcome.train_loss,
        "resumed_from_step": outcome.resumed_from_step or 0,
        "strategy": outcome.strategy,
        "dataset_hash": plan.built.card.sha256,
        "commit": plan.commit,
    }
    history.gate(
        outcome.steps,
        summary["metrics"],
        summary["previous_metrics"],
        published=decision.publish,
    )
    if not decision.publish:
        return {
            "published": False,
            "reason": decision.reason,
            "candidate_path": str(outcome.output_dir),
            **summary,
        }
    ctx.report("publish", 0, 1, "")
    extra: dict[str, Path] = {}
    fisher = _attached(outcome.output_dir, outcome.fisher_path, extra)
    replay = _attached(outcome.output_dir, outcome.replay_path, extra)
    manifest = registry.publish(
        outcome.output_dir,
        Manifest(
            name=name,
            version="",
            base_model=plan.base.name,
            base_model_hash=plan.base.fingerprint,
            dataset_hash=plan.built.card.sha256,
            commit=plan.commit,
            commit_range=[plan.built.card.first_commit, plan.built.card.last_commit],
            metrics={k: float(v) for k, v in summary["metrics"].items()},
            previous_metrics={k: float(v) for k, v in summary["previous_metrics"].items()},
            previous_version=in_service.version if in_service else "",
            fisher=fisher,
            replay=replay,
            strategy=str(outcome.strategy),
            steps=int(outcome.steps),
            job_id=ctx.job.id,
        ),
        extra_files=extra,
    )
    ctx.report("publish", 1, 1, manifest.version)
    return {
        **summary,
        **_published(env, manifest, outcome.resumed_from_step or 0),
        "reason": decision.reason,
    }


def _future(
    ctx: JobContext,
    env: HandlerEnv,
    plan: TrainPlan,
    candidate_dir: Path,
    in_service: Manifest | None,
) -> FutureComparison | None:
    """Both versions on the held-out commits' lines, through the served pipeline; None
    when the daemon has no pipeline or the history held nothing out."""
    from mochi.trainer.jobs.future_gate import score_version

    held = plan.held_out
    if env.completers is None or held is None:
        return None
    reference_dir = env.registry.path(in_service.name, in_service.version) if in_service else None
    name = f"{in_service.version} (in service)" if in_service else "the base model"
    found = []
    for label, folder in (("the new version", candidate_dir), (name, reference_dir)):

        def tick(done: int, total: int, label: str = label) -> None:
            ctx.report(FUTURE_STAGE, done, total, label)

        found.append(
            score_version(
                env.completers,
                plan.model_dir,
                folder,
                held.tasks,
                tick=tick,
                cancelled=ctx.should_cancel,
            )
        )
        if ctx.should_cancel():
            raise JobCancelled("cancelled while scoring the held-out commits")
    return FutureComparison(found[0], found[1], name)


def _future_json(future: FutureComparison | None, side: str) -> dict[str, float]:
    if future is None:
        return {}
    return future.candidate.to_json() if side == "candidate" else future.reference.to_json()


def _held_out_json(held: HeldOut | None) -> dict[str, Any]:
    if held is None:
        return {}
    return {"cut": held.cut, "head": held.head, "commits": held.commits, "tasks": len(held.tasks)}


def _in_service(env: HandlerEnv, name: str, base: BaseModelId) -> Manifest | None:
    """The version in service, if it runs on the same base model (one on another base model
    cannot be scored here: the new version is then gated against nothing)."""
    try:
        current = env.registry.get(name)
    except UnknownAdapter:
        return None
    return current if current.base_model_hash == base.fingerprint else None


def _attached(output_dir: Path, path: Path | None, extra: dict[str, Path]) -> str:
    """The file's name in the version folder ("" when there is none)."""
    if path is None:
        return ""
    path = Path(path)
    if path.parent.resolve() == Path(output_dir).resolve():
        return path.name
    if not path.exists():
        raise JobFailed(f"training reported {path} but it does not exist")
    extra[path.name] = path
    return path.name


def _published(env: HandlerEnv, manifest: Manifest, resumed_from_step: int) -> dict[str, Any]:
    return {
        "published": True,
        "version": manifest.version,
        "path": str(env.registry.path(manifest.name, manifest.version)),
        "metrics": dict(manifest.metrics),
        "resumed_from_step": resumed_from_step,
    }
