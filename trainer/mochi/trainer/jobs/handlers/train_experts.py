"""`train-experts`: cut the workspace's samples into domains (params.rule), train one LoRA
expert per domain on the shared base model, train the gate that routes between them, and
publish it all as the next version of the expert set named by the job's adapter.

With a set in service (same rule, same base model) only the experts whose domains the
commits since it touched are trained again — each continuing its own last version with
EWC (λ as in `continual`) — and the others keep their versions in the new set. Experts
are adapters of the registry (`<set>.<domain>`); the set lives beside the registry
(experts/publish.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mochi.trainer.jobs.context import JobContext
from mochi.trainer.jobs.errors import JobCancelled, JobFailed
from mochi.trainer.jobs.handlers.continual import continual_train_params
from mochi.trainer.jobs.handlers.dataset_step import job_dataset
from mochi.trainer.jobs.handlers.env import HandlerEnv, job_params, workspace_head, workspace_root
from mochi.trainer.registry import base_model_id

if TYPE_CHECKING:
    from mochi.rag.protocols import Embedder
    from mochi.trainer.datasets import BuiltDataset
    from mochi.trainer.experts.plan import DomainPlan
    from mochi.trainer.experts.publish import ExpertSetRegistry, PublishedSet
    from mochi.trainer.registry import BaseModelId

EXPERTS_DIR = "experts"
ROUTER_STAGE = "router"


def default_embedder() -> Embedder:
    """The index's default embedding model: the gate reads what the server embeds."""
    from mochi.rag.config.schema import EmbeddingConfig
    from mochi.rag.embedding import build_dense_embedder

    return build_dense_embedder(EmbeddingConfig())


class TrainExpertsHandler:
    def __init__(
        self,
        env: HandlerEnv,
        *,
        embedder: Callable[[], Embedder] = default_embedder,
        sets_root: Path | None = None,
    ) -> None:
        self.env = env
        self.embedder = embedder
        self.sets_root = sets_root  # None: beside the adapter registry (experts/publish.py)

    def __call__(self, ctx: JobContext) -> dict[str, Any]:
        from mochi.trainer.datasets import DatasetError
        from mochi.trainer.experts.domains import DomainError, partition
        from mochi.trainer.experts.file_embeddings import file_embeddings
        from mochi.trainer.experts.plan import continued_plan, fresh_plan
        from mochi.trainer.experts.publish import ExpertSetRegistry, expert_sets_root
        from mochi.trainer.experts.touched import changed_files

        params = job_params(ctx)
        root = workspace_root(ctx)
        model_dir = self.env.model_dir(params)
        base = base_model_id(model_dir)
        sets = ExpertSetRegistry(self.sets_root or expert_sets_root(self.env.registry.root))
        name = ctx.job.adapter
        done = sets.by_job(name, ctx.job.id)
        if done is not None:  # the daemon died between publishing and recording the result
            return _published_json(done, retrained=[])
        head = workspace_head(root)
        if not head:
            raise JobFailed(f"workspace {root} has no commits: an expert set is trained on git")
        current = sets.current(name)
        if current is not None and not _continues(current, params, base.fingerprint):
            current = None
        if current is not None and current.record.commit == head:
            return _not_published(current, f"no new commits since {head[:12]}")
        since = current.record.commit if current is not None else None
        try:
            built = job_dataset(ctx, root, model_dir, params, commit=head, changed_since=since)
        except DatasetError as exc:
            if current is None:
                raise
            return _not_published(current, str(exc))

        embed = self._embed_texts(params.rule)
        embeddings = None
        if embed is not None:
            ctx.report("embeddings", 0, 0, "embedding the samples' files")
            embeddings = file_embeddings([*built.train, *built.eval], embed)
        try:
            if current is None:
                found = partition(
                    built.train,
                    params.rule,
                    min_samples=params.min_samples,
                    embeddings=embeddings,
                    clusters=params.clusters,
                    seed=int(params.dataset.get("seed", 0)),
                )
                plans = fresh_plan(found, built.eval, embeddings)
            else:
                changed = changed_files(root, current.record.commit, head)
                plans = continued_plan(
                    current.expert_set, changed, built.train, built.eval, embeddings
                )
        except DomainError as exc:
            raise JobFailed(str(exc)) from None
        if not plans:
            raise JobFailed("no samples with a file to cut into domains")
        if not any(plan.retrain for plan in plans):
            assert current is not None
            return _not_published(current, "the new commits touched no expert's samples")

        adapters = self._train_experts(ctx, params, model_dir, base, plans, current, head, built)
        router = self._train_router(ctx, params, model_dir, plans, adapters, embed, current)
        return self._publish(ctx, sets, params.rule, base, plans, adapters, router, head)

    # -- steps ---------------------------------------------------------------------------

    def _embed_texts(self, rule: str) -> Callable[[Sequence[str]], list[list[float]]] | None:
        """The embedder's passages function; None when it cannot be loaded and the rule
        does not need it (no centroids, no gate then)."""
        try:
            embedder = self.embedder()
        except (ImportError, OSError, ValueError) as exc:
            if rule == "kmeans":
                raise JobFailed(f"rule 'kmeans' needs the embedding model: {exc}") from None
            return None
        return embedder.embed_passages

    def _train_experts(
        self,
        ctx: JobContext,
        params: Any,
        model_dir: Path,
        base: BaseModelId,
        plans: list[DomainPlan],
        current: PublishedSet | None,
        head: str,
        built: BuiltDataset,
    ) -> dict[str, tuple[Path, str]]:
        """Expert name -> (adapter folder, version), trained or kept."""
        from mochi.trainer.experts.expert_run import (
            ExpertRunInputs,
            ExpertTask,
            expert_adapter_name,
            train_expert,
        )
        from mochi.trainer.training.params import TrainingCancelled, TrainingError, TrainParams

        registry = self.env.registry
        found: dict[str, tuple[Path, str]] = {}
        chosen = [plan for plan in plans if plan.retrain]
        for index, plan in enumerate(chosen, start=1):
            try:
                adapter = expert_adapter_name(ctx.job.adapter, plan.card.name)
            except ValueError as exc:
                raise JobFailed(f"expert {plan.card.name!r}: {exc}") from None
            previous = registry.get(adapter, plan.previous.version) if plan.previous else None
            train = continual_train_params(params.train) if previous else params.train
            label = f"expert {index}/{len(chosen)}: {plan.card.name}"

            def progress(stage: str, done: int, total: int, label: str = label) -> None:
                ctx.report(stage, done, total, label)

            inputs = ExpertRunInputs(
                registry=registry,
                model_dir=model_dir,
                base=base,
                params=TrainParams.from_dict(train),
                job_id=ctx.job.id,
                commit=head,
                dataset_hash=built.card.sha256,
                trust_remote_code=params.trust_remote_code,
                eval_limit=params.gate_samples,
                progress=progress,
                should_cancel=ctx.should_cancel,
            )
            task = ExpertTask(adapter, plan.train, plan.eval, previous)
            try:
                manifest = train_expert(task, inputs, ctx.workdir / EXPERTS_DIR / plan.card.name)
            except TrainingCancelled as exc:
                raise JobCancelled(str(exc)) from exc
            except TrainingError as exc:
                raise JobFailed(f"expert {plan.card.name!r}: {exc}") from None
            if ctx.should_cancel():
                raise JobCancelled(f"cancelled after training expert {plan.card.name!r}")
            found[plan.card.name] = (registry.path(adapter, manifest.version), manifest.version)
        for plan in plans:
            if not plan.retrain:
                assert current is not None
                folder = current.expert_set.adapter_path(current.folder, plan.card).resolve()
                found[plan.card.name] = (folder, plan.card.version)
        return found

    def _train_router(
        self,
        ctx: JobContext,
        params: Any,
        model_dir: Path,
        plans: list[DomainPlan],
        adapters: dict[str, tuple[Path, str]],
        embed: Callable[[Sequence[str]], list[list[float]]] | None,
        current: PublishedSet | None,
    ) -> dict[str, Any]:
        """{"path": the gate file or None, "reason": ..., "labels": ...}."""
        from mochi.trainer.experts.losses import expert_losses
        from mochi.trainer.experts.router_training import (
            balanced_samples,
            previous_router,
            train_router,
        )
        from mochi.trainer.training.params import TrainParams

        held_out = balanced_samples([plan.eval for plan in plans], params.router_samples)
        previous = previous_router(current, set(adapters))
        if len(adapters) < 2:
            return {"path": None, "reason": "a single expert needs no gate", "labels": {}}
        if embed is None:
            return {"path": previous, "reason": "no embedding model for the gate", "labels": {}}
        if not held_out:
            return {"path": previous, "reason": "no held-out samples for the gate", "labels": {}}

        def tick(done: int, total: int) -> None:
            ctx.report(ROUTER_STAGE, done, total, "each expert's loss on the held-out samples")
            if ctx.should_cancel():
                raise JobCancelled("cancelled while scoring the experts for the gate")

        tick(0, len(adapters))
        losses = expert_losses(
            model_dir,
            {name: folder for name, (folder, _) in adapters.items()},
            held_out,
            max_seq_len=TrainParams.from_dict(params.train).max_seq_len,
            trust_remote_code=params.trust_remote_code,
            progress=tick,
        )
        outcome = train_router(held_out, losses, embed, seed=int(params.dataset.get("seed", 0)))
        if outcome.gate is None:
            return {"path": previous, "reason": outcome.reason, "labels": outcome.labels}
        path = outcome.gate.save(ctx.workdir / "router.json")
        return {"path": path, "reason": outcome.reason, "labels": outcome.labels}

    def _publish(
        self,
        ctx: JobContext,
        sets: ExpertSetRegistry,
        rule: str,
        base: BaseModelId,
        plans: list[DomainPlan],
        adapters: dict[str, tuple[Path, str]],
        router: dict[str, Any],
        head: str,
    ) -> dict[str, Any]:
        from mochi.rag.routing.expert_set import ExpertSet
        from mochi.rag.routing.features import FEATURE_VERSION
        from mochi.trainer.experts.publish import SetRecord, set_scores
        from mochi.trainer.registry import Manifest

        ctx.report("publish", 0, 1, "")
        cards = []
        metrics: dict[str, dict[str, float]] = {}
        for plan in plans:
            folder, version = adapters[plan.card.name]
            cards.append(replace(plan.card, adapter=str(folder), version=version))
            metrics[plan.card.name] = dict(Manifest.read(folder).metrics)
        name = ctx.job.adapter
        published = sets.publish(
            name,
            ExpertSet(
                version="",
                rule=rule,
                base_model=base.name,
                experts=tuple(cards),
                feature_version=FEATURE_VERSION if router["path"] else 0,
                scores=set_scores(metrics),
            ),
            SetRecord(job_id=ctx.job.id, commit=head, base_model_hash=base.fingerprint),
            router=router["path"],
        )
        retrained = [plan.card.name for plan in plans if plan.retrain]
        for plan in plans:  # the registry's own `current` follows the set (the set decides)
            if plan.retrain:
                self.env.registry.set_current(
                    f"{name}.{plan.card.name}", adapters[plan.card.name][1]
                )
        ctx.report("publish", 1, 1, published.expert_set.version)
        return {
            **_published_json(published, retrained),
            "router_reason": router["reason"],
            "router_labels": router["labels"],
            "expert_metrics": metrics,
        }


def _continues(current: PublishedSet, params: Any, fingerprint: str) -> bool:
    """Whether this run continues the set in service rather than cutting domains anew."""
    return (
        not params.retrain_all
        and current.expert_set.rule == params.rule
        and current.record.base_model_hash == fingerprint
    )


def _published_json(published: PublishedSet, retrained: list[str]) -> dict[str, Any]:
    expert_set = published.expert_set
    return {
        "published": True,
        "version": expert_set.version,
        "path": str(published.folder),
        "commit": published.record.commit,
        "experts": {card.name: card.version for card in expert_set.experts},
        "retrained": retrained,
        "router": expert_set.router is not None,
        "scores": dict(expert_set.scores),
    }


def _not_published(current: PublishedSet, reason: str) -> dict[str, Any]:
    return {
        "published": False,
        "reason": reason,
        "previous_version": current.expert_set.version,
        "experts": {card.name: card.version for card in current.expert_set.experts},
    }
