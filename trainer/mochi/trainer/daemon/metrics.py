"""Prometheus metrics in a registry of their own (one per daemon, never the global one)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from mochi.trainer.jobs.store import JobStore
from mochi.trainer.protocol import JobKind, JobState, JobView

DURATION_BUCKETS = (1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 14400, 43200, float("inf"))


class _QueueCollector(Collector):
    """Reads the queue at scrape time, so the numbers are right after a restart too."""

    def __init__(self, metrics: DaemonMetrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[GaugeMetricFamily]:
        counts = self.metrics.store.counts()
        jobs = GaugeMetricFamily(
            "mochi_trainer_jobs", "Jobs in the queue by kind and state", labels=["kind", "state"]
        )
        for kind in JobKind:
            for state in JobState:
                jobs.add_metric([kind.value, state.value], counts.get((kind.value, state.value), 0))
        yield jobs
        queued = sum(n for (_, state), n in counts.items() if state == JobState.QUEUED.value)
        depth = GaugeMetricFamily("mochi_trainer_queue_depth", "Jobs waiting to run")
        depth.add_metric([], queued)
        yield depth
        running = GaugeMetricFamily(
            "mochi_trainer_running_jobs", "Jobs running now by device", labels=["device"]
        )
        by_device: dict[str, int] = {}
        for device in self.metrics.running().values():
            by_device[device] = by_device.get(device, 0) + 1
        for device, count in sorted(by_device.items()):
            running.add_metric([device], count)
        yield running


class DaemonMetrics:
    def __init__(
        self, store: JobStore, running: Callable[[], Mapping[str, str]] | None = None
    ) -> None:
        self.store = store
        self.running: Callable[[], Mapping[str, str]] = running or dict
        self.registry = CollectorRegistry(auto_describe=True)
        self.durations = Histogram(
            "mochi_trainer_job_duration_seconds",
            "Wall time of finished jobs, by kind and final state",
            labelnames=["kind", "state"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_QueueCollector(self))

    def job_finished(self, view: JobView) -> None:
        if view.started_at is not None and view.finished_at is not None:
            self.durations.labels(view.kind.value, view.state.value).observe(
                max(0.0, view.finished_at - view.started_at)
            )

    def render(self) -> bytes:
        return generate_latest(self.registry)
