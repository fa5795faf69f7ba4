"""VllmGenerator without a vLLM server: a closed port, and scripted HTTP answers that
copy what vLLM 0.32 sends (recorded from the real server)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from cancel_after import CancelAfter

from mochi.server.generation.circuit_breaker import BreakerPolicy, CircuitBreaker, CircuitState
from mochi.server.generation.types import (
    BackendState,
    CancelToken,
    GenerationCancelled,
    GenerationError,
    GenerationRequest,
)
from mochi.server.generation.vllm_backend import VllmGenerator, estimate_tokens

MODELS = {
    "object": "list",
    "data": [
        {"id": "tiny", "object": "model", "root": "/m/model", "parent": None, "max_model_len": 512},
        {"id": "a", "object": "model", "root": "/m/a", "parent": "tiny", "max_model_len": None},
        {"id": "b", "object": "model", "root": "/m/b", "parent": "tiny", "max_model_len": None},
    ],
}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def sse(*events: dict[str, Any]) -> bytes:
    lines = [f"data: {json.dumps(event)}\n\n" for event in events]
    return ("".join(lines) + "data: [DONE]\n\n").encode()


def chunk(text: str, finish_reason: str | None = None) -> dict[str, Any]:
    choice = {"index": 0, "text": text, "finish_reason": finish_reason}
    return {"object": "text_completion", "model": "tiny", "choices": [choice]}


USAGE = {
    "choices": [],
    "usage": {
        "prompt_tokens": 109,
        "completion_tokens": 3,
        "total_tokens": 112,
        "prompt_tokens_details": {"cached_tokens": 96},
    },
}


class FakeVllm:
    """Answers like vLLM; records what it was sent."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any] | None]] = []
        self.completion: Callable[[dict[str, Any]], httpx.Response] = lambda body: httpx.Response(
            200, content=sse(chunk(""), chunk("ret"), chunk("urn"), chunk(" x", "stop"), USAGE)
        )
        self.models = MODELS
        self.lora_routes = True
        self.down = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        self.requests.append((request.url.path, body))
        if self.down:
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        path = request.url.path
        if path == "/health":
            return httpx.Response(200)
        if path == "/v1/models":
            return httpx.Response(200, json=self.models)
        if path == "/v1/completions":
            assert body is not None
            return self.completion(body)
        if path == "/tokenize":
            return httpx.Response(200, json={"count": 7, "max_model_len": 512, "tokens": []})
        if path in ("/v1/load_lora_adapter", "/v1/unload_lora_adapter") and self.lora_routes:
            return httpx.Response(200, text="Success")
        return httpx.Response(404, json={"detail": "Not Found"})

    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]


@pytest.fixture
def fake() -> FakeVllm:
    return FakeVllm()


@pytest.fixture
def generator(fake: FakeVllm) -> Iterator[VllmGenerator]:
    gen = VllmGenerator("http://vllm.test/v1/", model="tiny", transport=httpx.MockTransport(fake))
    yield gen
    gen.close()


# -- a closed port ---------------------------------------------------------------------


def test_an_unreachable_server_fails_fast_with_a_clear_error() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    policy = BreakerPolicy(failure_threshold=3, cooldown_s=30.0)
    gen = VllmGenerator(url, model="tiny", breaker=CircuitBreaker(policy))
    try:
        for _ in range(3):
            started = time.monotonic()
            with pytest.raises(GenerationError, match="unreachable") as err:
                gen.generate(GenerationRequest("def f():"), CancelToken())
            assert time.monotonic() - started < 2.0
            assert url in str(err.value)
        # The circuit is open now: no connection attempt at all, and the error says when.
        started = time.monotonic()
        with pytest.raises(GenerationError, match=r"next retry in \d+\.\d s"):
            gen.generate(GenerationRequest("def f():"), CancelToken())
        assert time.monotonic() - started < 0.05
        health = gen.health()
        assert health.state is BackendState.DOWN
        assert health.extra["circuit"] == CircuitState.OPEN
        assert gen.count_tokens("x" * 35) == estimate_tokens("x" * 35) == 10
        info = gen.info()
        assert (info.backend, info.model_id, info.adapters) == ("vllm", "tiny", ())
    finally:
        gen.close()


# -- scripted answers ------------------------------------------------------------------


def test_generate_streams_and_reports_usage(generator: VllmGenerator, fake: FakeVllm) -> None:
    request = GenerationRequest("def f():", max_tokens=8, stop=("\n",), adapter="a", seed=3)
    result = generator.generate(request, CancelToken())
    assert (result.text, result.finish_reason, result.adapter) == ("return x", "stop", "a")
    assert (result.prompt_tokens, result.completion_tokens, result.cached_prompt_tokens) == (
        109,
        3,
        96,
    )
    assert result.seconds_prefill >= 0 and result.seconds_decode >= 0
    path, body = fake.requests[-1]
    assert path == "/v1/completions"
    assert body == {
        "model": "a",
        "prompt": "def f():",
        "max_tokens": 8,
        "temperature": 0.0,
        "stream": True,
        "stream_options": {"include_usage": True},
        "stop": ["\n"],
        "seed": 3,
    }


def test_the_base_model_is_asked_for_by_its_served_name(
    generator: VllmGenerator, fake: FakeVllm
) -> None:
    generator.generate(GenerationRequest("x"), CancelToken())
    body = fake.requests[-1][1]
    assert body is not None and body["model"] == "tiny"
    assert "stop" not in body and "seed" not in body


def test_cancellation_between_chunks(generator: VllmGenerator) -> None:
    with pytest.raises(GenerationCancelled):
        generator.generate(GenerationRequest("x"), CancelAfter(checks=3))


def test_an_unknown_adapter_names_the_ones_served(generator: VllmGenerator, fake: FakeVllm) -> None:
    message = {"message": "The model `zzz` does not exist.", "type": "NotFoundError", "code": 404}
    fake.completion = lambda body: httpx.Response(404, json={"error": message})
    with pytest.raises(GenerationError, match=r"no adapter 'zzz' \(adapters: a, b\)"):
        generator.generate(GenerationRequest("x", adapter="zzz"), CancelToken())


def test_other_refusals_carry_vllms_message(generator: VllmGenerator, fake: FakeVllm) -> None:
    message = {"message": "max_tokens=5000 cannot be greater than max_model_len=512."}
    fake.completion = lambda body: httpx.Response(400, json={"error": message})
    with pytest.raises(GenerationError, match="answered 400: max_tokens=5000"):
        generator.generate(GenerationRequest("x", max_tokens=5000), CancelToken())


def test_an_error_event_in_the_stream_is_a_generation_error(
    generator: VllmGenerator, fake: FakeVllm
) -> None:
    fake.completion = lambda body: httpx.Response(
        200, content=sse(chunk("a"), {"error": {"message": "engine died", "code": 500}})
    )
    with pytest.raises(GenerationError, match="engine died"):
        generator.generate(GenerationRequest("x"), CancelToken())


def test_unavailable_answers_open_the_circuit(fake: FakeVllm) -> None:
    fake.completion = lambda body: httpx.Response(503, text="busy")
    breaker = CircuitBreaker(BreakerPolicy(failure_threshold=2, cooldown_s=60.0))
    gen = VllmGenerator(
        "http://vllm.test", model="tiny", breaker=breaker, transport=httpx.MockTransport(fake)
    )
    for _ in range(2):
        with pytest.raises(GenerationError, match="503"):
            gen.generate(GenerationRequest("x"), CancelToken())
    assert breaker.state is CircuitState.OPEN
    sent = len(fake.requests)
    with pytest.raises(GenerationError, match="next retry in"):
        gen.generate(GenerationRequest("x"), CancelToken())
    assert len(fake.requests) == sent
    assert gen.health().state is BackendState.DEGRADED


def test_adapters_and_info_come_from_the_model_list(generator: VllmGenerator) -> None:
    assert generator.adapters() == ["a", "b"]
    info = generator.info()
    assert (info.context_length, info.adapters, info.backend) == (512, ("a", "b"), "vllm")


def test_load_adapter_replaces_by_unloading_first(generator: VllmGenerator, fake: FakeVllm) -> None:
    generator.load_adapter("c", "/adapters/c")
    assert "/v1/unload_lora_adapter" not in fake.paths()
    generator.load_adapter("a", "/adapters/a2")
    admin = [(p, b) for p, b in fake.requests if p.endswith("_lora_adapter")]
    assert admin[-2:] == [
        ("/v1/unload_lora_adapter", {"lora_name": "a"}),
        ("/v1/load_lora_adapter", {"lora_name": "a", "lora_path": "/adapters/a2"}),
    ]


def test_load_adapter_explains_the_runtime_lora_switch(
    generator: VllmGenerator, fake: FakeVllm
) -> None:
    fake.lora_routes = False
    with pytest.raises(GenerationError, match="VLLM_ALLOW_RUNTIME_LORA_UPDATING=True"):
        generator.load_adapter("c", "/adapters/c")


def test_count_tokens_asks_the_server(generator: VllmGenerator, fake: FakeVllm) -> None:
    assert generator.count_tokens("def f():") == 7
    assert fake.requests[-1] == (
        "/tokenize",
        {"model": "tiny", "prompt": "def f():", "add_special_tokens": False},
    )


def test_info_reads_the_model_list_at_most_every_few_seconds(
    generator: VllmGenerator, fake: FakeVllm
) -> None:
    generator.info()
    generator.info()
    assert fake.paths().count("/v1/models") == 1


def test_after_the_cooldown_a_health_probe_closes_the_circuit(fake: FakeVllm) -> None:
    now = [0.0]
    breaker = CircuitBreaker(
        BreakerPolicy(failure_threshold=1, cooldown_s=10.0), clock=lambda: now[0]
    )
    gen = VllmGenerator(
        "http://vllm.test", model="tiny", breaker=breaker, transport=httpx.MockTransport(fake)
    )
    fake.down = True
    with pytest.raises(GenerationError, match="Connection refused"):
        gen.generate(GenerationRequest("x"), CancelToken())
    now[0] = 10.0  # cool-down over, still down: the probe fails, the cool-down doubles
    with pytest.raises(GenerationError, match=r"next retry in 20\.0 s"):
        gen.generate(GenerationRequest("x"), CancelToken())
    assert fake.paths()[-1] == "/health"
    fake.down = False
    now[0] = 30.0
    assert gen.generate(GenerationRequest("x"), CancelToken()).text == "return x"
    assert fake.paths()[-2:] == ["/health", "/v1/completions"]
    assert breaker.state is CircuitState.CLOSED
