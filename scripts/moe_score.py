"""scripts/bench_moe.py, scoring: the tasks after the cut (mochi eval's extraction) put
in the domain their file falls in, completed through the server's CompletionEngine over
one generator that holds the single LoRA and the published expert set, and routed by
the LearnedRouter the server builds for `[routing] mode = "learned"`.

A completion depends only on the task and the adapter that writes it (greedy, a cold
cache per task), so each (task, adapter) is completed once: the routed configuration
reuses the oracle's or the base's text where the router chose the same adapter."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moe_train import log

from mochi.rag.routing.expert_set import ExpertSet
from mochi.rag.routing.features import EmbedTexts
from mochi.server.completion.engine import CompletionEngine
from mochi.server.generation import Generator
from mochi.server.routing import ExpertRouter
from mochi.trainer.evaluation import DecodingSettings, Task

BASE, SINGLE_CONFIG, ROUTED, ORACLE, BEST_LOSS = "base", "single", "routed", "oracle", "best_loss"
CONFIGS = (BASE, SINGLE_CONFIG, ROUTED, ORACLE)


@dataclass(frozen=True)
class TaskSettings:
    max_per_domain: int
    max_per_commit: int = 10
    max_per_file: int = 4
    seed: int = 0


@dataclass
class SeedScores:
    """What one seed's models wrote; the base's texts are shared by all seeds."""

    predictions: dict[str, dict[str, str]]  # config -> task id -> text
    routes: dict[str, str | None]  # task id -> the router's expert (None: base)
    route_ms: list[float]
    best_loss: dict[str, str] = field(default_factory=dict)  # task id -> lowest-loss expert

    def to_json(self) -> dict[str, Any]:
        return {
            "predictions": self.predictions,
            "routes": self.routes,
            "route_ms": self.route_ms,
            "best_loss": self.best_loss,
        }


def domain_tasks(
    repo: Path,
    cut: str,
    until: str,
    expert_set: ExpertSet,
    settings: TaskSettings,
) -> dict[str, list[Task]]:
    """Domain -> up to `max_per_domain` tasks (seeded choice). Lines are extracted per
    language (so a large language does not crowd out the others), then each task goes
    to the expert whose domain its file falls in, as the set's assigner decides."""
    from mochi.trainer.evaluation import TaskOptions, extract_tasks
    from mochi.trainer.experts.touched import ExpertAssigner

    assigner = ExpertAssigner(expert_set)
    languages = sorted({lang for card in expert_set.experts for lang in card.languages})
    wanted = settings.max_per_domain * len(expert_set.experts)
    found: dict[str, list[Task]] = {card.name: [] for card in expert_set.experts}
    for language in languages:
        options = TaskOptions(
            max_tasks=wanted,
            max_per_commit=settings.max_per_commit,
            max_per_file=settings.max_per_file,
            languages=(language,),
            seed=settings.seed,
        )
        for task in extract_tasks(repo, cut, until, options):
            found[assigner.expert_for(task.path)].append(task)
    rng = random.Random(settings.seed)
    return {
        name: sorted(rng.sample(tasks, min(len(tasks), settings.max_per_domain)), key=_order)
        for name, tasks in found.items()
        if tasks
    }


def _order(task: Task) -> tuple[int, str, int]:
    return task.time, task.path, task.line


def served_generator(
    model: Path, adapters: Mapping[str, Path], backend: str, dtype: str
) -> Generator:
    """The generator `mochi serve` builds for the model, with `adapters` configured and
    no prefix reuse (each task from a cold cache, as `mochi eval` completes)."""
    from mochi.server.config import MochiConfig
    from mochi.server.generation.factory import make_generator

    config = MochiConfig()
    config.model.name = str(model)
    config.model.dtype = dtype  # type: ignore[assignment]
    config.model.backend = backend  # type: ignore[assignment]
    config.model.prefix_cache = False
    config.model.adapters = {name: str(path) for name, path in adapters.items()}
    return make_generator(config, model)


class PinnedEngines:
    """One CompletionEngine per adapter (None: the base model), each with the rule
    router pinned to it; completions memoised by (task, adapter)."""

    def __init__(self, generator: Generator, decoding: DecodingSettings) -> None:
        from mochi.server.cli.served_completer import completion_config

        self.generator = generator
        self.settings = completion_config(decoding)
        self._engines: dict[str | None, CompletionEngine] = {}
        self._done: dict[tuple[str, str | None], str] = {}
        self.completed = 0  # completions written (memoised ones not counted)
        self.seconds = 0.0

    def complete(self, task: Task, adapter: str | None) -> str:
        key = (task.id, adapter)
        if key not in self._done:
            started = time.perf_counter()
            self._done[key] = self._complete(task, adapter)
            self.seconds += time.perf_counter() - started
            self.completed += 1
        return self._done[key]

    def remember(self, task: Task, adapter: str | None, text: str) -> None:
        self._done[(task.id, adapter)] = text

    def _complete(self, task: Task, adapter: str | None) -> str:
        from mochi.server.cli.served_completer import cursor_at
        from mochi.server.generation import CancelToken

        engine = self._engines.get(adapter)
        if engine is None:
            if adapter is not None and adapter not in self.generator.adapters():
                # a pin the rule router cannot honour would fall back to another adapter
                raise ValueError(f"adapter {adapter!r} is not loaded in the generator")
            from mochi.server.routing import NO_EXPERT, RuleRouter

            router = RuleRouter(pinned=adapter or NO_EXPERT)
            engine = CompletionEngine(self.generator, router, self.settings)
            self._engines[adapter] = engine
        suggestion = engine.complete(cursor_at(task), CancelToken())
        return suggestion.text or ""


def learned_router(folder: Path, generator: Generator, embed: EmbedTexts) -> ExpertRouter:
    """The router `[routing] mode = "learned"` over the set gives the server (its
    experts' adapters loaded into `generator` on the way)."""
    from mochi.server.config import RoutingConfig
    from mochi.server.routing import RuleRouter
    from mochi.server.routing.factory import build_router, load_expert_set

    settings = RoutingConfig(mode="learned", expert_set=str(folder))
    loaded = load_expert_set(folder, generator, settings.temperature)
    return build_router(settings, RuleRouter(), embed, loaded)


def timed_route(router: ExpertRouter, task: Task, available: Sequence[str]) -> tuple[Any, float]:
    """The router's decision for the task's cursor (the engine's own RouteQuery) and
    the milliseconds it took."""
    from mochi.server.routing import RouteQuery

    query = RouteQuery("completion", task.path, task.language, task.prefix)
    started = time.perf_counter()
    decision = router.route(query, available)
    return decision, 1000 * (time.perf_counter() - started)


def score_seed(
    tasks: Mapping[str, Sequence[Task]],
    engines: PinnedEngines,
    router: ExpertRouter,
    base: dict[str, str],
    single: str,
    best_loss: Mapping[str, str] | None = None,
    progress: Callable[[str], None] = log,
) -> SeedScores:
    """Every configuration's text for every task. `base` (task id -> text) is filled
    where it lacks a task and reused where it has one."""
    predictions: dict[str, dict[str, str]] = {c: {} for c in CONFIGS}
    if best_loss is not None:
        predictions[BEST_LOSS] = {}
    routes: dict[str, str | None] = {}
    route_ms: list[float] = []
    available = engines.generator.adapters()
    everything = [(domain, t) for domain, items in tasks.items() for t in items]
    if everything:  # untimed: the first call loads the embedding model
        timed_route(router, everything[0][1], available)
    for index, (domain, task) in enumerate(everything, start=1):
        if task.id in base:
            engines.remember(task, None, base[task.id])
        base[task.id] = predictions[BASE][task.id] = engines.complete(task, None)
        predictions[SINGLE_CONFIG][task.id] = engines.complete(task, single)
        predictions[ORACLE][task.id] = engines.complete(task, domain)
        decision, ms = timed_route(router, task, available)
        routes[task.id] = decision.expert
        route_ms.append(ms)
        predictions[ROUTED][task.id] = engines.complete(task, decision.expert)
        if best_loss is not None:
            predictions[BEST_LOSS][task.id] = engines.complete(task, best_loss[task.id])
        rate = engines.seconds / max(1, engines.completed)
        progress(f"  {index}/{len(everything)} {task.id} ({rate:.2f} s a completion so far)")
    return SeedScores(predictions, routes, route_ms, dict(best_loss or {}))


def lowest_loss_experts(
    model: Path, experts: Mapping[str, Path], tasks: Sequence[Task], seq_len: int
) -> dict[str, str]:
    """Task id -> the expert of lowest loss on the task's line after its prefix (the
    label the gate is trained towards, here on the tasks themselves)."""
    from mochi.trainer.experts.losses import expert_losses
    from mochi.trainer.experts.router_training import best_expert_labels
    from mochi.trainer.samples import Sample

    samples = [Sample(t.prefix[-4000:], t.truth + "\n", "fim", t.path) for t in tasks]
    labels = best_expert_labels(expert_losses(model, experts, samples, max_seq_len=seq_len))
    return {t.id: label for t, label in zip(tasks, labels, strict=True)}
