"""VllmGenerator against a real vLLM server (CPU, a tiny random Llama with LoRA adapters).

Run with `bash scripts/run_vllm_tests.sh`: it builds .venv-vllm and passes its python in
MOCHI_VLLM_PYTHON. The server starts once for the module; the last two tests stop and
kill it (and start it again), so they stay at the end of the file.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

import pytest
from cancel_after import CancelAfter
from vllm_fixtures import (
    SERVED_NAME,
    TinyModel,
    VllmServer,
    build_tiny_model,
    free_port,
    local_greedy,
    local_token_count,
)

from mochi.server.generation.circuit_breaker import BreakerPolicy, CircuitBreaker, CircuitState
from mochi.server.generation.types import (
    BackendState,
    CancelToken,
    GenerationCancelled,
    GenerationError,
    GenerationRequest,
)
from mochi.server.generation.vllm_backend import VllmGenerator

pytestmark = pytest.mark.vllm

PROMPT = "def add(a, b):\n"
LONG_PROMPT = "".join(f"def f{i}(x):\n    return x + {i}\n" for i in range(12))


@pytest.fixture(scope="module")
def vllm_python() -> str:
    python = os.environ.get("MOCHI_VLLM_PYTHON")
    if not python:
        pytest.skip("needs a vLLM environment: run `bash scripts/run_vllm_tests.sh`")
    return python


@pytest.fixture(scope="module")
def tiny(vllm_python: str, tmp_path_factory: pytest.TempPathFactory) -> TinyModel:
    return build_tiny_model(tmp_path_factory.mktemp("vllm-tiny"))


@pytest.fixture(scope="module")
def server(
    vllm_python: str, tiny: TinyModel, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[VllmServer]:
    log = tmp_path_factory.mktemp("vllm-log") / "server.log"
    server = VllmServer(vllm_python, tiny, free_port(), log)
    seconds = server.start()
    print(f"vLLM started in {seconds:.1f} s")
    yield server
    server.stop()


@pytest.fixture
def gen(server: VllmServer) -> Iterator[VllmGenerator]:
    generator = VllmGenerator(server.url, model=SERVED_NAME, timeout=10.0)
    yield generator
    generator.close()


def greedy(gen: VllmGenerator, adapter: str | None, max_tokens: int = 24) -> str:
    request = GenerationRequest(PROMPT, max_tokens=max_tokens, adapter=adapter)
    return gen.generate(request, CancelToken()).text


def test_info_and_health(gen: VllmGenerator) -> None:
    info = gen.info()
    assert (info.backend, info.model_id, info.context_length) == ("vllm", SERVED_NAME, 512)
    assert set(info.adapters) == {"a", "b"}
    assert gen.health().state is BackendState.READY


def test_greedy_generation_matches_transformers(gen: VllmGenerator, tiny: TinyModel) -> None:
    result = gen.generate(GenerationRequest(PROMPT, max_tokens=24), CancelToken())
    assert result.text
    assert result.finish_reason in ("stop", "length")
    assert result.adapter is None
    assert result.text == local_greedy(tiny, None, PROMPT, 24)


def test_the_requested_adapter_is_the_one_used(gen: VllmGenerator, tiny: TinyModel) -> None:
    outputs = {name: greedy(gen, name) for name in (None, "a", "b")}
    assert len(set(outputs.values())) == 3, outputs
    assert greedy(gen, "a") == outputs["a"]
    for name in ("a", "b"):
        assert outputs[name] == local_greedy(tiny, name, PROMPT, 24), name


def test_an_unknown_adapter_is_a_clear_error(gen: VllmGenerator) -> None:
    with pytest.raises(GenerationError, match=r"no adapter 'nope' \(adapters: a, b"):
        greedy(gen, "nope")


def test_load_adapter_at_run_time_and_replace_it(gen: VllmGenerator, tiny: TinyModel) -> None:
    gen.load_adapter("c", str(tiny.adapters["c"]))
    assert "c" in gen.adapters()
    out_c = greedy(gen, "c")
    assert out_c == local_greedy(tiny, "c", PROMPT, 24)
    assert out_c not in (greedy(gen, "a"), greedy(gen, "b"))
    gen.load_adapter("c", str(tiny.adapters["a"]))  # replace: c now holds a's weights
    assert greedy(gen, "c") == greedy(gen, "a")


def test_stop_strings_end_the_text_before_them(gen: VllmGenerator) -> None:
    full = greedy(gen, None, max_tokens=32)
    stop = full[8:10]
    assert len(stop) == 2, full
    request = GenerationRequest(PROMPT, max_tokens=32, stop=(stop,))
    result = gen.generate(request, CancelToken())
    assert result.text == full[: full.index(stop)]
    assert result.finish_reason == "stop"


def test_usage_counts_and_prefix_cache_hits(gen: VllmGenerator, tiny: TinyModel) -> None:
    request = GenerationRequest(LONG_PROMPT, max_tokens=4, stop=())
    first = gen.generate(request, CancelToken())
    second = gen.generate(request, CancelToken())
    assert first.prompt_tokens == local_token_count(tiny, LONG_PROMPT) > 64
    assert 0 < first.completion_tokens <= 4
    assert second.cached_prompt_tokens >= 32  # whole 32-token blocks of the prompt
    assert first.seconds_prefill > 0 and first.seconds_decode >= 0


def test_count_tokens_uses_the_servers_tokenizer(gen: VllmGenerator, tiny: TinyModel) -> None:
    for text in (PROMPT, LONG_PROMPT, "x = 1"):
        assert gen.count_tokens(text) == local_token_count(tiny, text)


def test_cancellation_mid_stream_aborts_the_request(gen: VllmGenerator, server: VllmServer) -> None:
    def finished() -> float:
        """Requests that ran to their end (aborts are not counted), once the counter is
        still: vLLM updates its metrics after a response ends, so an earlier test's
        request can land in the counter a moment later."""
        value = server.metric("vllm:request_success_total")
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            time.sleep(0.5)
            again = server.metric("vllm:request_success_total")
            if again == value and server.metric("vllm:num_requests_running") == 0:
                break
            value = again
        return value

    before = finished()
    started = time.monotonic()
    with pytest.raises(GenerationCancelled):
        gen.generate(GenerationRequest(PROMPT, max_tokens=480), CancelAfter(checks=6))
    assert time.monotonic() - started < 2.0
    deadline = time.monotonic() + 10.0
    while server.metric("vllm:num_requests_running") > 0:
        assert time.monotonic() < deadline, "vLLM still runs the cancelled request"
        time.sleep(0.1)
    assert finished() == before  # it was aborted, not run to its end
    assert greedy(gen, None)  # and the server goes on serving


def test_cancellation_from_another_thread(gen: VllmGenerator) -> None:
    cancel = CancelToken()
    outcome: list[BaseException | str] = []

    def run() -> None:
        try:
            outcome.append(gen.generate(GenerationRequest(PROMPT, max_tokens=480), cancel).text)
        except BaseException as exc:  # the test inspects it
            outcome.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    time.sleep(0.15)
    cancelled_at = time.monotonic()
    cancel.cancel()
    worker.join(5.0)
    assert not worker.is_alive()
    assert time.monotonic() - cancelled_at < 1.0
    assert len(outcome) == 1
    assert isinstance(outcome[0], GenerationCancelled), outcome  # uncancelled: ~2 s


def test_a_hung_server_times_out_instead_of_hanging(server: VllmServer) -> None:
    gen = VllmGenerator(server.url, model=SERVED_NAME, timeout=1.5, connect_timeout=1.0)
    try:
        server.pause()  # SIGSTOP: connections are accepted, nothing answers
        started = time.monotonic()
        with pytest.raises(GenerationError, match="timed out"):
            greedy(gen, None)
        assert time.monotonic() - started < 4.0
        assert gen.health().state is BackendState.DOWN
    finally:
        server.resume()
    assert greedy(gen, None)
    gen.close()


def test_a_killed_server_fails_fast_and_the_generator_recovers(server: VllmServer) -> None:
    policy = BreakerPolicy(failure_threshold=3, cooldown_s=1.0, max_cooldown_s=4.0)
    breaker = CircuitBreaker(policy)
    gen = VllmGenerator(server.url, model=SERVED_NAME, timeout=5.0, breaker=breaker)
    try:
        before = greedy(gen, "a")
        server.kill()

        started = time.monotonic()
        with pytest.raises(GenerationError, match=f"vLLM at {server.url} is unreachable"):
            greedy(gen, "a")
        assert time.monotonic() - started < 3.0
        assert gen.health().state is BackendState.DOWN

        for _ in range(2):
            with pytest.raises(GenerationError):
                greedy(gen, "a")
        assert breaker.state is CircuitState.OPEN
        started = time.monotonic()
        with pytest.raises(
            GenerationError, match=r"Circuit open after 3 consecutive failures.* next retry in"
        ):
            greedy(gen, "a")
        assert time.monotonic() - started < 0.05  # no connection attempt at all

        restart_seconds = server.start()  # the same port
        print(f"vLLM restarted in {restart_seconds:.1f} s")
        time.sleep(max(0.0, breaker.retry_in()))
        assert greedy(gen, "a") == before
        assert breaker.state is CircuitState.CLOSED
        assert gen.health().state is BackendState.READY
    finally:
        gen.close()
