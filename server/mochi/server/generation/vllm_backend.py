"""`Generator` over a vLLM OpenAI-compatible server, reached by URL.

One base model plus LoRA adapters, each served by vLLM under its own model name: a
request for adapter `a` is a `/v1/completions` call with `model: "a"`. Adapters added at
run time go through `/v1/load_lora_adapter`, which vLLM only offers when its server runs
with `VLLM_ALLOW_RUNTIME_LORA_UPDATING=True` (and `--enable-lora`); the adapter path is
read by the vLLM server, so it must be a path on that machine.

Streaming, timeouts and the circuit breaker are the shared `CompletionsClient`
(openai_completions.py); this module adds what only vLLM has: /health, /tokenize,
adapters that name their `parent`, `max_model_len` and run-time LoRA loading.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx

from mochi.server.generation.circuit_breaker import CircuitBreaker
from mochi.server.generation.openai_completions import (
    CompletionsClient,
    IgnoredWeightsNote,
    ServerKind,
    client_side_stops,
    completion_body,
    estimate_tokens,
)
from mochi.server.generation.types import (
    BackendHealth,
    CancelToken,
    GenerationError,
    GenerationRequest,
    GenerationResult,
    ModelInfo,
)
from mochi.server.generation.vllm_errors import (
    RUNTIME_LORA_HINT,
    START_HINT,
    is_missing_route,
    response_message,
)

# Used by info() while neither the caller nor a reachable server has told the real one.
FALLBACK_CONTEXT_LENGTH = 2048
# info() may be called per request; it re-reads the model list at most this often.
MODEL_LIST_TTL_S = 5.0
VLLM = ServerKind(label="vLLM", start_hint=START_HINT, health_path="/health")

# client_side_stops and estimate_tokens are used from here by older callers.
__all__ = ["VllmGenerator", "client_side_stops", "estimate_tokens"]


class VllmGenerator:
    def __init__(
        self,
        base_url: str,
        *,
        model: str,
        api_key: str | None = None,
        timeout: float = 30.0,
        connect_timeout: float = 2.0,
        fim_template: str | None = None,
        context_length: int | None = None,
        breaker: CircuitBreaker | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """`base_url` is the server root (a trailing `/v1` is accepted); `model` is the
        base model's served name (`--served-model-name`); `context_length` defaults to
        the server's `max_model_len`. `breaker` and `transport` are for tests."""
        self._server = CompletionsClient(
            base_url,
            VLLM,
            api_key=api_key,
            timeout=timeout,
            connect_timeout=connect_timeout,
            breaker=breaker,
            transport=transport,
        )
        self.base_url = self._server.base_url
        self.model = model
        self.fim_template = fim_template
        self._context_length = context_length
        self._known_adapters: tuple[str, ...] = ()
        self._models_read_at: float | None = None
        self._log = logging.getLogger(__name__)
        self._note_ignored_weights = IgnoredWeightsNote(self._log, "vLLM")

    # -- Generator -------------------------------------------------------------------

    def info(self) -> ModelInfo:
        read_at = self._models_read_at
        if read_at is None or time.monotonic() - read_at > MODEL_LIST_TTL_S:
            try:
                self._refresh_models()
            except GenerationError as exc:
                self._log.info("vLLM model list unavailable, using what is known: %s", exc)
        return ModelInfo(
            model_id=self.model,
            backend="vllm",
            context_length=self._context_length or FALLBACK_CONTEXT_LENGTH,
            fim_template=self.fim_template,
            adapters=self._known_adapters,
        )

    def generate(self, request: GenerationRequest, cancel: CancelToken) -> GenerationResult:
        # vLLM cannot skip leading newlines before a stop: those stops are applied while
        # reading, and leaving the stream early makes vLLM abort the rest.
        self._note_ignored_weights(request)
        body = completion_body(request, request.adapter or self.model)
        return self._server.stream_completion(
            body, request, cancel, lambda response: self._request_error(request, response)
        )

    def count_tokens(self, text: str) -> int:
        body = {"model": self.model, "prompt": text, "add_special_tokens": False}
        try:
            response = self._server.request("POST", "/tokenize", json=body)
            if response.status_code == 200:
                return int(response.json()["count"])
            self._log.info("vLLM /tokenize answered %s", response.status_code)
        except (GenerationError, KeyError, TypeError, ValueError) as exc:
            self._log.info("vLLM /tokenize failed, estimating: %s", exc)
        return estimate_tokens(text)

    def load_adapter(self, name: str, path: str) -> None:
        """Load adapter `name` from `path` (a folder on the vLLM server's machine);
        an adapter already loaded under that name is unloaded first."""
        if name in self.adapters():
            self._admin("/v1/unload_lora_adapter", {"lora_name": name}, f"unload {name!r}")
        self._admin(
            "/v1/load_lora_adapter",
            {"lora_name": name, "lora_path": path},
            f"load adapter {name!r} from {path}",
        )
        self._refresh_models()

    def adapters(self) -> list[str]:
        self._refresh_models()
        return list(self._known_adapters)

    def health(self) -> BackendHealth:
        return self._server.health({"model": self.model})

    def close(self) -> None:
        self._server.close()

    # -- refusals ---------------------------------------------------------------------

    def _request_error(
        self, request: GenerationRequest, response: httpx.Response
    ) -> GenerationError:
        message = response_message(response)
        if response.status_code in (400, 404):
            served = self._served_or_none()
            if served is not None and request.adapter and request.adapter not in served:
                listing = ", ".join(self._known_adapters) or "none"
                return GenerationError(
                    f"vLLM at {self.base_url} has no adapter {request.adapter!r} "
                    f"(adapters: {listing}); load it with load_adapter(name, path)"
                )
            if served is not None and not request.adapter and self.model not in served:
                return GenerationError(
                    f"vLLM at {self.base_url} does not serve model {self.model!r} "
                    f"(it serves: {', '.join(served)}); pass its --served-model-name"
                )
        if response.status_code == 401:
            return GenerationError(f"vLLM at {self.base_url} refused the API key: {message}")
        return GenerationError(
            f"vLLM at {self.base_url} answered {response.status_code}: {message}"
        )

    def _served_or_none(self) -> list[str] | None:
        try:
            return [str(entry["id"]) for entry in self._refresh_models()]
        except (GenerationError, KeyError):
            return None

    # -- model list and adapter administration --------------------------------------

    def _refresh_models(self) -> list[dict[str, Any]]:
        """GET /v1/models; remembers the adapters and (unless given) the context length."""
        entries = self._server.model_entries()
        self._known_adapters = tuple(
            str(e["id"])
            for e in entries
            if e["id"] != self.model and e.get("parent") not in (None, e["id"])
        )
        self._models_read_at = time.monotonic()
        base = next((e for e in entries if e["id"] == self.model), None)
        if self._context_length is None and base and base.get("max_model_len"):
            self._context_length = int(base["max_model_len"])
        return entries

    def _admin(self, path: str, body: dict[str, str], what: str) -> None:
        response = self._server.request("POST", path, json=body)
        if response.status_code == 200:
            return
        if is_missing_route(response):
            raise GenerationError(
                f"vLLM at {self.base_url} cannot {what}: {path} is missing; {RUNTIME_LORA_HINT}"
            )
        raise GenerationError(
            f"vLLM at {self.base_url} could not {what} "
            f"({response.status_code}): {response_message(response)}"
        )
