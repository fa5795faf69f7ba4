"""The language server's metrics object on its own: how an answer counts, what a
completion's timings add, what is read at scrape time, the registry being its own, the
/metrics endpoint and its setting."""

from __future__ import annotations

import socket
import urllib.request
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from lsprotocol import types
from ports import free_port
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from mochi.rag.config import ConfigError
from mochi.server.completion.engine import Timings
from mochi.server.config import ServerConfig, load_config
from mochi.server.generation import ModelInfo
from mochi.server.lsp import Services, create_server
from mochi.server.lsp.metrics import ServerMetrics, outcome_of
from mochi.server.lsp.metrics_endpoint import MetricsEndpoint, MetricsEndpointError
from mochi.server.lsp.server import MochiServer

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(metrics: ServerMetrics) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(metrics.render().decode())
        for s in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float | None:
    return found.get((name, frozenset(labels.items())))


def error(code: int) -> types.ResponseError:
    return types.ResponseError(code=code, message="")


START = types.Position(0, 0)
LOCATION = types.Location(uri="file:///a.py", range=types.Range(START, START))
GHOST_TEXT = types.InlineCompletionList(items=[types.InlineCompletionItem(insert_text="x")])


@pytest.mark.parametrize(
    ("result", "response_error", "expected"),
    [
        (types.Hover(contents="x"), None, "ok"),
        (None, None, "empty"),
        ([], None, "empty"),
        ([LOCATION], None, "ok"),
        (types.CompletionList(is_incomplete=True, items=[]), None, "empty"),
        (GHOST_TEXT, None, "ok"),
        ({}, None, "empty"),
        ({"index": None}, None, "ok"),
        ("", None, "empty"),
        (None, error(types.LSPErrorCodes.RequestCancelled), "cancelled"),
        (None, error(types.LSPErrorCodes.ServerCancelled), "cancelled"),
        (None, error(types.ErrorCodes.InternalError), "error"),
        (None, error(types.ErrorCodes.InvalidParams), "error"),
    ],
)
def test_how_an_answer_counts(result: Any, response_error: Any, expected: str) -> None:
    assert outcome_of(result, response_error) == expected


def test_requests_are_counted_by_method_and_outcome_with_their_latency() -> None:
    metrics = ServerMetrics()
    for seconds in (0.004, 0.3, 12.0):
        metrics.request("textDocument/completion", "ok", seconds)
    metrics.request("textDocument/completion", "cancelled", 0.02)
    metrics.request("textDocument/hover", "empty", 0.001)
    found = samples(metrics)
    total, duration = "mochi_lsp_requests_total", "mochi_lsp_request_duration_seconds"
    method = "textDocument/completion"
    assert value(found, total, method=method, outcome="ok") == 3
    assert value(found, total, method=method, outcome="cancelled") == 1
    assert value(found, total, method="textDocument/hover", outcome="empty") == 1
    assert value(found, f"{duration}_count", method=method) == 4
    assert value(found, f"{duration}_bucket", method=method, le="0.01") == 1
    assert value(found, f"{duration}_bucket", method=method, le="0.025") == 2
    assert value(found, f"{duration}_bucket", method=method, le="0.5") == 3
    assert value(found, f"{duration}_bucket", method=method, le="10.0") == 3
    assert value(found, f"{duration}_bucket", method=method, le="+Inf") == 4
    assert value(found, f"{duration}_sum", method=method) == pytest.approx(12.324)


def timings(cached: int) -> Timings:
    return Timings(
        retrieval_ms=3.0,
        prompt_ms=1.0,
        prefill_ms=120.0,
        decode_ms=80.0,
        prompt_tokens=100,
        cached_tokens=cached,
        completion_tokens=4,
    )


def test_a_completion_adds_its_stages_tokens_and_prefix_cache_lookup() -> None:
    metrics = ServerMetrics()
    before = samples(metrics)  # the lookups and tokens show as 0 before the first
    assert value(before, "mochi_prefix_cache_lookups_total", result="hit") == 0
    assert value(before, "mochi_completion_tokens_total", kind="cached") == 0
    metrics.completion("suggested", timings(cached=0))
    metrics.completion("suggested", timings(cached=90))
    metrics.completion("nothing", timings(cached=99))
    metrics.completion("superseded")
    found = samples(metrics)
    assert value(found, "mochi_completions_total", result="suggested") == 2
    assert value(found, "mochi_completions_total", result="nothing") == 1
    assert value(found, "mochi_completions_total", result="superseded") == 1
    stage = "mochi_completion_stage_seconds"
    assert value(found, f"{stage}_count", stage="prefill") == 3
    assert value(found, f"{stage}_sum", stage="prefill") == pytest.approx(0.36)
    assert value(found, f"{stage}_sum", stage="retrieval") == pytest.approx(0.009)
    assert value(found, f"{stage}_bucket", stage="retrieval", le="0.005") == 3
    assert value(found, "mochi_prefix_cache_lookups_total", result="miss") == 1
    assert value(found, "mochi_prefix_cache_lookups_total", result="hit") == 2
    assert value(found, "mochi_completion_tokens_total", kind="prompt") == 300
    assert value(found, "mochi_completion_tokens_total", kind="cached") == 189
    assert value(found, "mochi_completion_tokens_total", kind="generated") == 12


def test_each_server_has_a_registry_of_its_own() -> None:
    first, second = ServerMetrics(), ServerMetrics()
    first.request("textDocument/hover", "ok", 0.01)
    hovers = {"method": "textDocument/hover", "outcome": "ok"}
    assert value(samples(first), "mochi_lsp_requests_total", **hovers) == 1
    assert value(samples(second), "mochi_lsp_requests_total", **hovers) is None
    assert REGISTRY.get_sample_value("mochi_lsp_requests_total") is None


class FakeManifest:
    def __init__(self, documents: int, chunks: int, broken: bool = False) -> None:
        self.documents, self.chunks, self.broken = documents, chunks, broken

    def doc_count(self) -> int:
        if self.broken:
            raise RuntimeError("closed")
        return self.documents

    def chunk_count(self) -> int:
        return self.chunks


class MemoryGenerator:
    """Enough of a transformers generator for the scrape: info and a token memory."""

    def __init__(self, tokens: int) -> None:
        self.memory = SimpleNamespace(size=tokens)

    def info(self) -> ModelInfo:
        return ModelInfo(model_id="/models/smollm2", backend="transformers", context_length=8)

    def token_encoder(self, window: int = 1024, adapter: str | None = None) -> Any: ...

    def use_memory(self, memory: Any, adapter: str | None = None) -> None: ...

    def current_memory(self, adapter: str | None = None) -> Any:
        return self.memory


def test_the_index_memory_and_model_are_read_at_scrape_time() -> None:
    state: dict[str, Any] = {"index": None, "generator": None}
    metrics = ServerMetrics(lambda: state["index"], lambda: state["generator"])
    found = samples(metrics)
    assert value(found, "mochi_index_documents") is None  # no index yet
    assert value(found, "mochi_token_memory_tokens") == 0
    assert not [k for k in found if k[0] == "mochi_model_info"]

    state["index"] = SimpleNamespace(manifest=FakeManifest(12, 40))
    state["generator"] = MemoryGenerator(tokens=5000)
    found = samples(metrics)
    assert value(found, "mochi_index_documents") == 12
    assert value(found, "mochi_index_chunks") == 40
    assert value(found, "mochi_token_memory_tokens") == 5000
    model = {"model": "/models/smollm2", "backend": "transformers"}
    assert value(found, "mochi_model_info", **model) == 1

    state["index"].manifest.documents = 13  # read again at the next scrape
    assert value(samples(metrics), "mochi_index_documents") == 13
    state["index"] = SimpleNamespace(manifest=FakeManifest(0, 0, broken=True))  # closing
    found = samples(metrics)
    assert value(found, "mochi_index_documents") is None
    assert value(found, "mochi_token_memory_tokens") == 5000  # the rest is still there


class Discard:
    """The writer the server answers into (the answers are not under test here)."""

    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        pass


def unused(*args: Any) -> Any:
    raise AssertionError("not used by this test")


def rpc(message_id: int, method: str, params: Any = None) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": message_id, "method": method, "params": params}


def test_the_protocol_counts_every_answer_even_those_no_handler_gives() -> None:
    server = create_server(Services(open_index=unused, make_generator=unused))

    @server.feature("mochi/boom")
    def boom(ls: MochiServer, params: Any) -> None:
        raise KeyError("internal detail")

    server.protocol.set_writer(Discard())
    at = {"textDocument": {"uri": "file:///a.py"}, "position": {"line": 0, "character": 0}}
    server.protocol.receive(rpc(1, "textDocument/hover", {**at, "textDocument": 3}))  # -32602
    server.protocol.receive(rpc(2, "mochi/noSuchMethod", {}))  # -32601
    server.protocol.receive(rpc(3, "mochi/another", {}))
    server.protocol.receive(rpc(4, "mochi/boom", {}))  # -32603
    server.protocol.receive(rpc(5, "shutdown"))
    server.protocol.receive(rpc(6, "textDocument/hover", at))  # after shutdown: -32600
    found = samples(server.metrics)
    total = "mochi_lsp_requests_total"
    assert value(found, total, method="textDocument/hover", outcome="error") == 2
    assert value(found, total, method="unknown", outcome="error") == 2  # one label for all
    assert value(found, total, method="mochi/boom", outcome="error") == 1
    assert value(found, total, method="shutdown", outcome="empty") == 1
    counted = {labels for (name, labels) in found if name == total}
    assert len(counted) == 4
    duration = "mochi_lsp_request_duration_seconds_count"
    assert value(found, duration, method="textDocument/hover") == 2


def get(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        body: bytes = response.read()
        return body.decode()


def test_the_endpoint_serves_the_registry_moves_and_stops() -> None:
    metrics = ServerMetrics()
    metrics.request("textDocument/completion", "ok", 0.2)
    endpoint = MetricsEndpoint(metrics.registry)
    first, second = free_port(), free_port()
    try:
        endpoint.serve("127.0.0.1", first)
        endpoint.serve("127.0.0.1", first)  # the same address: nothing to do
        assert 'mochi_lsp_requests_total{method="textDocument/completion",outcome="ok"} 1.0' in (
            get(first)
        )
        endpoint.serve("127.0.0.1", second)
        assert endpoint.address == ("127.0.0.1", second)
        assert "mochi_lsp_requests_total" in get(second)
        with pytest.raises(OSError):
            get(first)
        endpoint.serve("127.0.0.1", 0)
        assert endpoint.address is None
        with pytest.raises(OSError):
            get(second)
    finally:
        endpoint.stop()
    endpoint.stop()  # twice is fine


def test_a_port_in_use_is_an_error_that_names_it() -> None:
    endpoint = MetricsEndpoint(ServerMetrics().registry)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(MetricsEndpointError, match=rf"127\.0\.0\.1:{port}/metrics"):
            endpoint.serve("127.0.0.1", port)
    assert endpoint.address is None


def test_the_setting_is_off_and_local_by_default(tmp_path: Path) -> None:
    home = {"XDG_CONFIG_HOME": str(tmp_path / "config")}  # no user config of this machine
    config = load_config(tmp_path, environ=home)
    assert config.server == ServerConfig(metrics_port=0, metrics_host="127.0.0.1")
    config = load_config(tmp_path, environ={**home, "MOCHI_SERVER__METRICS_PORT": "9464"})
    assert config.server.metrics_port == 9464
    options = {"server": {"metricsPort": 9465}}
    assert load_config(tmp_path, options, home).server.metrics_port == 9465


@pytest.mark.parametrize("port", [-1, 65536])
def test_a_port_out_of_range_names_the_key(tmp_path: Path, port: int) -> None:
    home = {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    with pytest.raises(ConfigError, match=r"server\.metrics_port"):
        load_config(tmp_path, {"server": {"metricsPort": port}}, home)
    with pytest.raises(ConfigError, match=r"server\.metrics_host"):
        ServerConfig(metrics_host=" ")
