"""Prometheus metrics of one language server, in a registry of their own (one per server,
never the global one): requests by method and outcome with their latency, the completion
stages the engine already times (`mochi.timings`), prefix-cache reuse, and the index,
token memory and model, read when scraped."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Literal

from lsprotocol import types
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector

from mochi.server.memory.workspace_memory import MemoryBackend

if TYPE_CHECKING:
    from mochi.rag.index import WorkspaceIndex
    from mochi.server.completion.engine import Timings
    from mochi.server.generation import Generator, ModelInfo

log = logging.getLogger(__name__)

# A completion takes ~0.2-0.6 s on a CPU, a hover a few ms, a cold start seconds.
REQUEST_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, float("inf"))
STAGE_BUCKETS = (0.001, 0.0025, 0.005, *REQUEST_BUCKETS)
CANCELLED_CODES = {types.LSPErrorCodes.RequestCancelled, types.LSPErrorCodes.ServerCancelled}

Outcome = Literal["ok", "cancelled", "error", "empty"]
# What one completion request came to (mochi_completions_total{result}).
CompletionResult = Literal[
    "suggested", "nothing", "superseded", "cancelled", "failed", "unavailable", "off"
]


def outcome_of(result: Any, error: types.ResponseError | None) -> Outcome:
    """How an answer counts: an error (cancelled or not), no result (null, an empty
    list, a completion list without items) or a result."""
    if error is not None:
        return "cancelled" if error.code in CANCELLED_CODES else "error"
    if result is None:
        return "empty"
    if isinstance(result, list | tuple | dict | str):
        return "ok" if result else "empty"
    items = getattr(result, "items", None)
    return "empty" if isinstance(items, list) and not items else "ok"


class _WorkspaceCollector(Collector):
    """Reads the index, the token memory and the model at scrape time (the scrape runs
    off the event loop: on the endpoint's thread, or in a worker for `mochi.metrics`)."""

    def __init__(
        self,
        index: Callable[[], WorkspaceIndex | None],
        generator: Callable[[], Generator | None],
    ) -> None:
        self.index = index
        self.generator = generator

    def collect(self) -> Iterator[Metric]:
        yield from self._index()
        generator = self.generator()
        memory = GaugeMetricFamily(
            "mochi_token_memory_tokens", "Tokens in the token memory decoding mixes in (0: none)"
        )
        mix = generator.current_memory() if isinstance(generator, MemoryBackend) else None
        memory.add_metric([], mix.size if mix is not None else 0)
        yield memory
        info = _model_info(generator) if generator is not None else None
        if info is not None:
            yield InfoMetricFamily(
                "mochi_model",
                "The model completions come from and its back end",
                value={"model": info.model_id, "backend": info.backend},
            )

    def _index(self) -> Iterator[Metric]:
        index = self.index()
        if index is None:
            return
        try:  # the index may close between the two lines (the session ends)
            documents, chunks = index.manifest.doc_count(), index.manifest.chunk_count()
        except Exception as exc:
            log.debug("index counts unavailable: %s", exc)
            return
        yield GaugeMetricFamily("mochi_index_documents", "Documents in the index", value=documents)
        yield GaugeMetricFamily("mochi_index_chunks", "Chunks in the index", value=chunks)


def _model_info(generator: Generator) -> ModelInfo | None:
    try:
        return generator.info()
    except Exception as exc:  # a scrape shows what it can
        log.debug("model info unavailable: %s", exc)
        return None


class ServerMetrics:
    """What the server records; `render()` is the text exposition (the /metrics body)."""

    def __init__(
        self,
        index: Callable[[], WorkspaceIndex | None] = lambda: None,
        generator: Callable[[], Generator | None] = lambda: None,
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "mochi_lsp_requests",
            "LSP requests answered, by method and outcome (ok, empty, cancelled, error)",
            labelnames=["method", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "mochi_lsp_request_duration_seconds",
            "Time from a request's arrival to its answer, by method",
            labelnames=["method"],
            buckets=REQUEST_BUCKETS,
            registry=self.registry,
        )
        self.completions = Counter(
            "mochi_completions",
            "Completion requests by what they came to",
            labelnames=["result"],
            registry=self.registry,
        )
        self.stages = Histogram(
            "mochi_completion_stage_seconds",
            "Completion time by stage (retrieval, prompt, prefill, decode), as mochi.timings",
            labelnames=["stage"],
            buckets=STAGE_BUCKETS,
            registry=self.registry,
        )
        self.tokens = Counter(
            "mochi_completion_tokens",
            "Completion tokens: prompt, cached (prompt tokens reused from a cache), generated",
            labelnames=["kind"],
            registry=self.registry,
        )
        self.prefix_cache = Counter(
            "mochi_prefix_cache_lookups",
            "Completions whose prompt reused a cached prefix (hit) or was prefilled whole (miss)",
            labelnames=["result"],
            registry=self.registry,
        )
        for kind in ("prompt", "cached", "generated"):  # shown as 0 before the first
            self.tokens.labels(kind)
        for result in ("hit", "miss"):
            self.prefix_cache.labels(result)
        self.registry.register(_WorkspaceCollector(index, generator))

    def request(self, method: str, outcome: Outcome, seconds: float) -> None:
        self.requests.labels(method, outcome).inc()
        self.latency.labels(method).observe(max(0.0, seconds))

    def completion(self, result: CompletionResult, timings: Timings | None = None) -> None:
        self.completions.labels(result).inc()
        if timings is None:
            return
        for stage, ms in (
            ("retrieval", timings.retrieval_ms),
            ("prompt", timings.prompt_ms),
            ("prefill", timings.prefill_ms),
            ("decode", timings.decode_ms),
        ):
            self.stages.labels(stage).observe(max(0.0, ms / 1000))
        self.tokens.labels("prompt").inc(timings.prompt_tokens)
        self.tokens.labels("cached").inc(timings.cached_tokens)
        self.tokens.labels("generated").inc(timings.completion_tokens)
        self.prefix_cache.labels("hit" if timings.cached_tokens > 0 else "miss").inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
