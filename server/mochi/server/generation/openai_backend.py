"""`Generator` over any OpenAI-compatible `/v1/completions` server reached by URL:
Ollama (`http://127.0.0.1:11434`), llama.cpp's `llama-server` or llama-cpp-python's
server (`http://127.0.0.1:8080` / `:8000`), LM Studio (`http://127.0.0.1:1234`).

Fill-in-the-middle, one of `FIM_MODES`:
- "suffix": the text after the cursor goes in the request's `suffix` field and the
  server builds the FIM prompt with the model's own tokens (Ollama does for models whose
  template has a suffix; llama-cpp-python does for GGUFs with FIM tokens);
- "template": mochi builds the FIM prompt itself with `fim_template` (as for vLLM);
- "none": the prompt is the text before the cursor only.

These servers have no vLLM extras: health is `GET /v1/models`, tokens are estimated,
and adapters cannot be loaded at run time. An adapter is a model the server serves
under its own name (an Ollama model built with `ADAPTER` in its Modelfile, a llama.cpp
server started with `--lora`); the names to treat as experts are given.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal, get_args

import httpx

from mochi.server.generation.circuit_breaker import CircuitBreaker
from mochi.server.generation.openai_completions import (
    CompletionsClient,
    IgnoredWeightsNote,
    ServerKind,
    completion_body,
    estimate_tokens,
)
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
from mochi.server.generation.vllm_errors import response_message

FimMode = Literal["suffix", "template", "none"]
FIM_MODES: tuple[str, ...] = get_args(FimMode)
# Used by info() while the server has not told the real one (most of them do not).
FALLBACK_CONTEXT_LENGTH = 2048
# The served model list is re-read at most this often.
MODEL_LIST_TTL_S = 5.0

OPENAI_SERVER = ServerKind(
    label="the OpenAI-compatible server",
    start_hint=(
        "start it (`ollama serve`, `llama-server -m MODEL.gguf`, "
        "`python -m llama_cpp.server --model MODEL.gguf`, LM Studio's local server) "
        "or check model.openai_url"
    ),
    health_path="/v1/models",
)
ADAPTER_HINT = (
    "an OpenAI-compatible server cannot load adapters at run time; serve the adapter "
    "as a model of its own and name it in [model.adapters]: Ollama: a Modelfile with "
    "`FROM <base>` and `ADAPTER <adapter folder or GGUF>`, then `ollama create <name> -f "
    "Modelfile`; llama.cpp's llama-server: start it with `--lora <adapter.gguf>` "
    "(convert the adapter with convert_lora_to_gguf.py); or use backend = 'vllm'"
)


def api_key_from(variable: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The API key held by the environment variable named `variable` ('' = no key)."""
    if not variable:
        return None
    env = os.environ if environ is None else environ
    key = env.get(variable, "")
    if not key:
        raise GenerationError(
            f"model.openai_api_key_env names {variable!r}, but that environment variable "
            "is not set: export it before starting mochi (or set openai_api_key_env = '')"
        )
    return key


class OpenAICompletionGenerator:
    def __init__(
        self,
        base_url: str,
        *,
        model: str = "",
        api_key: str | None = None,
        fim: FimMode = "suffix",
        fim_template: str | None = None,
        adapters: Sequence[str] = (),
        context_length: int | None = None,
        timeout: float = 30.0,
        connect_timeout: float = 2.0,
        breaker: CircuitBreaker | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """`model` is the served model name ('' = the first model the server lists);
        `fim` one of FIM_MODES (`fim_template` is used with "template"); `adapters` the
        served names that are LoRA experts. `breaker` and `transport` are for tests."""
        if fim not in FIM_MODES:
            raise GenerationError(f"openai_fim must be one of {list(FIM_MODES)}, not {fim!r}")
        self._server = CompletionsClient(
            base_url,
            OPENAI_SERVER,
            api_key=api_key,
            timeout=timeout,
            connect_timeout=connect_timeout,
            breaker=breaker,
            transport=transport,
        )
        self.base_url = self._server.base_url
        self.model = model
        self.fim: FimMode = fim
        self.fim_template = fim_template
        self._expert_names = tuple(adapters)
        self._context_length = context_length
        self._served: tuple[str, ...] = ()
        self._served_read_at: float | None = None
        self._log = logging.getLogger(__name__)
        self._note_ignored_weights = IgnoredWeightsNote(self._log, "the server")

    # -- Generator -------------------------------------------------------------------

    def info(self) -> ModelInfo:
        """What is known without asking the server (info() is called per request)."""
        return ModelInfo(
            model_id=self._base_model(),
            backend="openai",
            context_length=self._context_length or FALLBACK_CONTEXT_LENGTH,
            fim_template=self.fim_template if self.fim == "template" else None,
            adapters=self._experts_served(),
            takes_suffix=self.fim == "suffix",
        )

    def generate(self, request: GenerationRequest, cancel: CancelToken) -> GenerationResult:
        if cancel.is_set():
            raise GenerationCancelled()
        served = self._served_models()
        self._note_ignored_weights(request)
        model = request.adapter or self._base_model()
        if model not in served:
            raise GenerationError(self._not_served(model, served))
        body = completion_body(request, model)
        if self.fim == "suffix" and request.suffix.strip():
            # As with mochi's own FIM prompts: a blank suffix is no middle to fill.
            body["suffix"] = request.suffix
        return self._server.stream_completion(
            body, request, cancel, lambda response: self._request_error(model, response)
        )

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)

    def load_adapter(self, name: str, path: str) -> None:
        raise GenerationError(f"cannot load adapter {name!r} from {path}: {ADAPTER_HINT}")

    def adapters(self) -> list[str]:
        try:
            self._served_models()
        except GenerationError as exc:
            self._log.info("model list unavailable, using what is known: %s", exc)
        return list(self._experts_served())

    def health(self) -> BackendHealth:
        health = self._server.health({"model": self.model or "(the first one served)"})
        if health.state is not BackendState.READY:
            return health
        try:
            served = self._served_models(fresh=True)
        except GenerationError as exc:
            return BackendHealth(BackendState.DEGRADED, str(exc), health.extra)
        model = self._base_model()
        if model not in served:
            return BackendHealth(
                BackendState.DEGRADED, self._not_served(model, served), health.extra
            )
        return BackendHealth(BackendState.READY, f"{self._server.where}: {model}", health.extra)

    def close(self) -> None:
        self._server.close()

    # -- the served models -----------------------------------------------------------

    def _base_model(self) -> str:
        if self.model:
            return self.model
        return self._served[0] if self._served else ""

    def _experts_served(self) -> tuple[str, ...]:
        return tuple(name for name in self._expert_names if name in self._served)

    def _served_models(self, *, fresh: bool = False) -> tuple[str, ...]:
        """The served model names, re-read when older than MODEL_LIST_TTL_S."""
        read_at = self._served_read_at
        if fresh or read_at is None or time.monotonic() - read_at > MODEL_LIST_TTL_S:
            entries = self._server.model_entries()
            self._served = tuple(str(entry["id"]) for entry in entries)
            self._served_read_at = time.monotonic()
            self._learn_context_length(entries)
        return self._served

    def _learn_context_length(self, entries: list[dict[str, Any]]) -> None:
        """vLLM-style `max_model_len`, or llama.cpp's `meta.n_ctx_train`, when listed."""
        if self._context_length is not None:
            return
        base = next((e for e in entries if e["id"] == self._base_model()), None)
        meta = base.get("meta") if base else None
        length = (base or {}).get("max_model_len") or (
            meta.get("n_ctx_train") if isinstance(meta, dict) else None
        )
        if isinstance(length, int) and length > 0:
            self._context_length = length

    def _not_served(self, model: str, served: Sequence[str]) -> str:
        listing = ", ".join(served) or "no models"
        if not model:
            return f"{self._server.where} serves no models: load or pull one"
        return (
            f"{self._server.where} does not serve model {model!r} (it serves: {listing}); "
            "set model.openai_model to one of them (or '' for the first)"
        )

    def _request_error(self, model: str, response: httpx.Response) -> GenerationError:
        message = response_message(response)
        if response.status_code == 401:
            return GenerationError(f"{self._server.where} refused the API key: {message}")
        if response.status_code == 404:
            try:
                served = self._served_models(fresh=True)
            except GenerationError:
                served = ()
            if served and model not in served:
                return GenerationError(self._not_served(model, served))
        return GenerationError(f"{self._server.where} answered {response.status_code}: {message}")
