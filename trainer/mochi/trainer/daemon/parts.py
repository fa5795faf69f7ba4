"""The composition root: everything the daemon is made of, built from its config."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mochi.trainer.daemon.config import DaemonConfig
from mochi.trainer.daemon.metrics import DaemonMetrics
from mochi.trainer.daemon.token import load_or_create_token
from mochi.trainer.jobs.context import Handlers
from mochi.trainer.jobs.handlers import HandlerEnv, default_handlers
from mochi.trainer.jobs.private import private_dir
from mochi.trainer.jobs.runner import Runner, RunnerConfig
from mochi.trainer.jobs.store import JobStore
from mochi.trainer.protocol import token_path
from mochi.trainer.registry import AdapterRegistry

if TYPE_CHECKING:
    from mochi.trainer.jobs.future_gate import VersionCompleters


@dataclass
class DaemonParts:
    config: DaemonConfig
    token: str
    store: JobStore
    registry: AdapterRegistry
    runner: Runner
    metrics: DaemonMetrics

    def start(self) -> list[str]:
        """Requeue what a dead daemon left running, then start the runner."""
        requeued = self.store.recover()
        self.runner.start()
        return requeued

    def stop(
        self, timeout: float = 10.0, *, give_up: Callable[[], bool] | None = None
    ) -> list[str]:
        """Stop the runner (see `Runner.stop`) and close the queue; returns the ids of the
        jobs that did not stop within `timeout` seconds."""
        left = self.runner.stop(timeout, give_up=give_up)
        self.store.close()
        return left


def build_daemon(
    config: DaemonConfig,
    *,
    handlers: Handlers | None = None,
    completers: VersionCompleters | None = None,
) -> DaemonParts:
    """`completers`: the language server's completion pipeline, which the eval gate
    scores versions with on held-out commits (`mochi trainer serve` passes it; without
    it the gate compares held-out samples only)."""
    store = JobStore(config.queue_path)
    registry = AdapterRegistry(private_dir(config.adapters_dir))
    metrics = DaemonMetrics(store)
    chosen = handlers or default_handlers(HandlerEnv(registry, config.base_model, completers))
    runner = Runner(
        store,
        chosen,
        RunnerConfig(
            jobs_dir=config.jobs_dir,
            max_jobs_per_device=config.max_jobs_per_device,
            devices=config.devices,
            poll_seconds=config.poll_seconds,
        ),
        observer=metrics,
    )
    metrics.running = runner.running
    return DaemonParts(
        config=config,
        token=load_or_create_token(token_path(config.data_dir)),
        store=store,
        registry=registry,
        runner=runner,
        metrics=metrics,
    )
