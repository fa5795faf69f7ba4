"""`Generator` over a vLLM OpenAI-compatible server, reached by URL.

One base model plus LoRA adapters, each served by vLLM under its own model name: a
request for adapter `a` is a `/v1/completions` call with `model: "a"`. Adapters added at
run time go through `/v1/load_lora_adapter`, which vLLM only offers when its server runs
with `VLLM_ALLOW_RUNTIME_LORA_UPDATING=True` (and `--enable-lora`); the adapter path is
read by the vLLM server, so it must be a path on that machine.

Timeouts: `connect_timeout` for connecting (and for /health and probes); `timeout` for
each read, i.e. the longest silence between two streamed tokens. A circuit breaker
turns a dead server into immediate errors instead of one hung request after another.

The sync `httpx.Client` is shared by the worker threads that call `generate()`.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import httpx

from mochi.server.generation.circuit_breaker import Admission, CircuitBreaker, CircuitState
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
from mochi.server.generation.vllm_errors import (
    RUNTIME_LORA_HINT,
    START_HINT,
    UNAVAILABLE_STATUSES,
    describe_transport_error,
    is_missing_route,
    response_message,
)
from mochi.server.generation.vllm_stream import CompletionStream

# Used by info() while neither the caller nor a reachable server has told the real one.
FALLBACK_CONTEXT_LENGTH = 2048
# info() may be called per request; it re-reads the model list at most this often.
MODEL_LIST_TTL_S = 5.0
CHARS_PER_TOKEN_ESTIMATE = 3.5


def estimate_tokens(text: str) -> int:
    """A rough token count for when the server cannot be asked."""
    return math.ceil(len(text) / CHARS_PER_TOKEN_ESTIMATE)


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
        url = base_url.rstrip("/")
        self.base_url = url.removesuffix("/v1")
        self.model = model
        self.fim_template = fim_template
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            transport=transport,
        )
        self._short_timeout = httpx.Timeout(connect_timeout)
        self._breaker = breaker or CircuitBreaker()
        self._context_length = context_length
        self._known_adapters: tuple[str, ...] = ()
        self._models_read_at: float | None = None
        self._last_error = ""
        self._log = logging.getLogger(__name__)

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
        if cancel.is_set():
            raise GenerationCancelled()
        self._admit()
        stream = CompletionStream(started_at=time.monotonic())
        # vLLM cannot skip leading newlines before a stop: those stops are applied here,
        # and leaving the stream early makes vLLM abort the rest.
        local = client_side_stops(request)
        try:
            with self._client.stream(
                "POST", "/v1/completions", json=self._completion_body(request)
            ) as response:
                if response.status_code != 200:
                    response.read()
                    self._record_status(response.status_code)
                    raise self._request_error(request, response)
                self._breaker.record_success()
                for line in response.iter_lines():
                    if cancel.is_set():
                        # Leaving the block closes the connection; vLLM then aborts.
                        raise GenerationCancelled()
                    if stream.feed(line, time.monotonic()):
                        break
                    if local and stream.cut_at(local, skip_leading_newlines=True):
                        break
        except httpx.TransportError as exc:
            raise self._transport_failure(exc) from exc
        return stream.result(adapter=request.adapter, now=time.monotonic())

    def count_tokens(self, text: str) -> int:
        body = {"model": self.model, "prompt": text, "add_special_tokens": False}
        try:
            response = self._request("POST", "/tokenize", json=body)
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
        extra = {
            "url": self.base_url,
            "model": self.model,
            "circuit": str(self._breaker.state),
            "retry_in_s": f"{self._breaker.retry_in():.1f}",
        }
        try:
            response = self._client.get("/health", timeout=self._short_timeout)
        except httpx.TransportError as exc:
            detail = f"vLLM at {self.base_url} is unreachable ({describe_transport_error(exc)})"
            return BackendHealth(BackendState.DOWN, detail, extra)
        if response.status_code != 200:
            detail = f"vLLM at {self.base_url} answered /health with {response.status_code}"
            return BackendHealth(BackendState.DEGRADED, detail, extra)
        if self._breaker.state is not CircuitState.CLOSED:
            detail = (
                f"vLLM at {self.base_url} answers /health, but requests failed "
                f"({self._last_error}); retried in {self._breaker.retry_in():.1f} s"
            )
            return BackendHealth(BackendState.DEGRADED, detail, extra)
        return BackendHealth(BackendState.READY, f"vLLM at {self.base_url}", extra)

    def close(self) -> None:
        self._client.close()

    # -- requests and the circuit breaker -------------------------------------------

    def _completion_body(self, request: GenerationRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": request.adapter or self.model,
            "prompt": request.prompt,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        local = client_side_stops(request)
        stops = [s for s in request.stop if s not in local]
        if stops:
            body["stop"] = stops
        if request.seed is not None:
            body["seed"] = request.seed
        return body

    def _request(self, method: str, path: str, json: Any = None) -> httpx.Response:
        """One plain request through the circuit breaker."""
        self._admit()
        try:
            response = self._client.request(method, path, json=json)
        except httpx.TransportError as exc:
            raise self._transport_failure(exc) from exc
        self._record_status(response.status_code)
        return response

    def _admit(self) -> None:
        admission = self._breaker.admit()
        if admission is Admission.REJECT:
            raise GenerationError(self._unreachable_message())
        if admission is Admission.PROBE:
            self._probe()

    def _probe(self) -> None:
        """After the cool-down: a quick /health decides whether the circuit closes."""
        try:
            response = self._client.get("/health", timeout=self._short_timeout)
        except httpx.TransportError as exc:
            raise self._transport_failure(exc) from exc
        if response.status_code != 200:
            self._last_error = f"/health answered {response.status_code}"
            self._breaker.record_failure()
            raise GenerationError(self._unreachable_message())
        self._log.info("vLLM at %s answers again; circuit closed", self.base_url)
        self._breaker.record_success()

    def _record_status(self, status: int) -> None:
        if status in UNAVAILABLE_STATUSES:
            self._last_error = f"HTTP {status}"
            self._breaker.record_failure()
        else:
            self._breaker.record_success()

    def _transport_failure(self, exc: httpx.TransportError) -> GenerationError:
        self._last_error = describe_transport_error(exc)
        self._breaker.record_failure()
        message = self._unreachable_message()
        self._log.warning("%s", message)
        return GenerationError(message)

    def _unreachable_message(self) -> str:
        where = f"vLLM at {self.base_url} is unreachable ({self._last_error or 'no answer'})"
        failures = self._breaker.consecutive_failures
        if self._breaker.state is CircuitState.CLOSED:
            left = self._breaker.policy.failure_threshold - failures
            return f"{where}; {START_HINT}. Requests fail fast after {left} more failure(s)."
        return (
            f"{where}; {START_HINT}. Circuit open after {failures} consecutive failures: "
            f"requests fail at once, next retry in {self._breaker.retry_in():.1f} s."
        )

    def _request_error(self, request: GenerationRequest, response: httpx.Response) -> Exception:
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
        response = self._request("GET", "/v1/models")
        if response.status_code != 200:
            raise GenerationError(
                f"vLLM at {self.base_url} answered /v1/models with {response.status_code}: "
                f"{response_message(response)}"
            )
        try:
            entries = [e for e in response.json()["data"] if isinstance(e, dict) and "id" in e]
        except (KeyError, TypeError, ValueError) as exc:
            raise GenerationError(f"vLLM at {self.base_url} sent an odd model list") from exc
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
        response = self._request("POST", path, json=body)
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


def client_side_stops(request: GenerationRequest) -> tuple[str, ...]:
    """The stops applied while reading the stream instead of by vLLM: the newline, when
    leading newlines must not end the completion."""
    if request.skip_leading_newlines and "\n" in request.stop:
        return ("\n",)
    return ()
