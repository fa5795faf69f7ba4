"""The client of an OpenAI-compatible `/v1/completions` server, shared by the vLLM back end
and the generic OpenAI back end (Ollama, llama.cpp's server, LM Studio).

It streams one completion, sends plain requests through a circuit breaker, reads the
model list and answers health. What differs between servers (what they are called in
messages, how to start them, which path tells that they are up) is a `ServerKind`.

Timeouts: `connect_timeout` for connecting (and for health checks and probes);
`timeout` for each read, i.e. the longest silence between two streamed tokens. The
circuit breaker turns a dead server into immediate errors instead of one hung request
after another. The sync `httpx.Client` is shared by the worker threads that call it.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
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
)
from mochi.server.generation.vllm_errors import (
    UNAVAILABLE_STATUSES,
    describe_transport_error,
    response_message,
)
from mochi.server.generation.vllm_stream import CompletionStream

CHARS_PER_TOKEN_ESTIMATE = 3.5


def estimate_tokens(text: str) -> int:
    """A rough token count for when the server cannot be asked."""
    return math.ceil(len(text) / CHARS_PER_TOKEN_ESTIMATE)


def client_side_stops(request: GenerationRequest) -> tuple[str, ...]:
    """The stops applied while reading the stream instead of by the server: the newline,
    when leading newlines must not end the completion (servers cannot skip them)."""
    if request.skip_leading_newlines and "\n" in request.stop:
        return ("\n",)
    return ()


def completion_body(request: GenerationRequest, model: str) -> dict[str, Any]:
    """The JSON of a streamed `/v1/completions` request for `model` (a served name)."""
    body: dict[str, Any] = {
        "model": model,
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


class IgnoredWeightsNote:
    """For a server that serves one adapter per request: a combination of experts is
    served by its top one, and that its weights were ignored is said once, at debug level,
    on `log` (`server` names the server in the message: "vLLM", "the server")."""

    def __init__(self, log: logging.Logger, server: str) -> None:
        self._log = log
        self._server = server
        self._noted = False

    def __call__(self, request: GenerationRequest) -> None:
        if len(request.adapter_weights) < 2 or self._noted:
            return
        self._noted = True
        self._log.debug(
            "%s serves one adapter per request: the weights %s are ignored, %r answers (said once)",
            self._server,
            request.adapter_weights,
            request.adapter,
        )


@dataclass(frozen=True, slots=True)
class ServerKind:
    """How one kind of server is named in messages, started, and checked for health."""

    label: str  # "vLLM", "the OpenAI-compatible server"
    start_hint: str  # what to do when it is unreachable
    health_path: str  # answers 200 while the server is up: "/health", "/v1/models"


class CompletionsClient:
    def __init__(
        self,
        base_url: str,
        kind: ServerKind,
        *,
        api_key: str | None = None,
        timeout: float = 30.0,
        connect_timeout: float = 2.0,
        breaker: CircuitBreaker | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """`base_url` is the server root (a trailing `/` or `/v1` is accepted)."""
        self.base_url = base_url.strip().rstrip("/").removesuffix("/v1")
        self.kind = kind
        self.breaker = breaker or CircuitBreaker()
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            transport=transport,
        )
        self._short_timeout = httpx.Timeout(connect_timeout)
        self._last_error = ""
        self._log = logging.getLogger(__name__)

    @property
    def where(self) -> str:
        """`vLLM at http://host:port`: how messages name the server."""
        return f"{self.kind.label} at {self.base_url}"

    def stream_completion(
        self,
        body: dict[str, Any],
        request: GenerationRequest,
        cancel: CancelToken,
        refused: Callable[[httpx.Response], GenerationError],
    ) -> GenerationResult:
        """POST /v1/completions with `body` and read the stream; `refused` turns an
        answer other than 200 into the error to raise. Cancellation is checked between
        streamed events: leaving the stream closes the connection and the server stops."""
        if cancel.is_set():
            raise GenerationCancelled()
        self._admit()
        stream = CompletionStream(started_at=time.monotonic(), server=self.kind.label)
        local = client_side_stops(request)
        try:
            with self._client.stream("POST", "/v1/completions", json=body) as response:
                if response.status_code != 200:
                    response.read()
                    self._record_status(response.status_code)
                    raise refused(response)
                self.breaker.record_success()
                for line in response.iter_lines():
                    if cancel.is_set():
                        raise GenerationCancelled()
                    if stream.feed(line, time.monotonic()):
                        break
                    if local and stream.cut_at(local, skip_leading_newlines=True):
                        break
        except httpx.TransportError as exc:
            raise self._transport_failure(exc) from exc
        return stream.result(adapter=request.adapter, now=time.monotonic())

    def request(self, method: str, path: str, json: Any = None) -> httpx.Response:
        """One plain request through the circuit breaker."""
        self._admit()
        try:
            response = self._client.request(method, path, json=json)
        except httpx.TransportError as exc:
            raise self._transport_failure(exc) from exc
        self._record_status(response.status_code)
        return response

    def model_entries(self) -> list[dict[str, Any]]:
        """GET /v1/models: the entries (objects with an `id`) the server lists."""
        response = self.request("GET", "/v1/models")
        if response.status_code != 200:
            raise GenerationError(
                f"{self.where} answered /v1/models with {response.status_code}: "
                f"{response_message(response)}"
            )
        try:
            data = response.json()["data"]
            return [e for e in data if isinstance(e, dict) and "id" in e]
        except (KeyError, TypeError, ValueError) as exc:
            raise GenerationError(f"{self.where} sent an odd model list") from exc

    def health(self, extra: dict[str, str]) -> BackendHealth:
        """A quick GET of the health path, and what the circuit breaker knows."""
        extra = {
            **extra,
            "url": self.base_url,
            "circuit": str(self.breaker.state),
            "retry_in_s": f"{self.breaker.retry_in():.1f}",
        }
        path = self.kind.health_path
        try:
            response = self._client.get(path, timeout=self._short_timeout)
        except httpx.TransportError as exc:
            detail = f"{self.where} is unreachable ({describe_transport_error(exc)})"
            return BackendHealth(BackendState.DOWN, detail, extra)
        if response.status_code != 200:
            detail = f"{self.where} answered {path} with {response.status_code}"
            return BackendHealth(BackendState.DEGRADED, detail, extra)
        if self.breaker.state is not CircuitState.CLOSED:
            detail = (
                f"{self.where} answers {path}, but requests failed "
                f"({self._last_error}); retried in {self.breaker.retry_in():.1f} s"
            )
            return BackendHealth(BackendState.DEGRADED, detail, extra)
        return BackendHealth(BackendState.READY, self.where, extra)

    def close(self) -> None:
        self._client.close()

    # -- the circuit breaker ---------------------------------------------------------

    def _admit(self) -> None:
        admission = self.breaker.admit()
        if admission is Admission.REJECT:
            raise GenerationError(self._unreachable_message())
        if admission is Admission.PROBE:
            self._probe()

    def _probe(self) -> None:
        """After the cool-down: a quick health check decides whether the circuit closes."""
        path = self.kind.health_path
        try:
            response = self._client.get(path, timeout=self._short_timeout)
        except httpx.TransportError as exc:
            raise self._transport_failure(exc) from exc
        if response.status_code != 200:
            self._last_error = f"{path} answered {response.status_code}"
            self.breaker.record_failure()
            raise GenerationError(self._unreachable_message())
        self._log.info("%s answers again; circuit closed", self.where)
        self.breaker.record_success()

    def _record_status(self, status: int) -> None:
        if status in UNAVAILABLE_STATUSES:
            self._last_error = f"HTTP {status}"
            self.breaker.record_failure()
        else:
            self.breaker.record_success()

    def _transport_failure(self, exc: httpx.TransportError) -> GenerationError:
        self._last_error = describe_transport_error(exc)
        self.breaker.record_failure()
        message = self._unreachable_message()
        self._log.warning("%s", message)
        return GenerationError(message)

    def _unreachable_message(self) -> str:
        where = f"{self.where} is unreachable ({self._last_error or 'no answer'})"
        hint = self.kind.start_hint
        failures = self.breaker.consecutive_failures
        if self.breaker.state is CircuitState.CLOSED:
            left = self.breaker.policy.failure_threshold - failures
            return f"{where}; {hint}. Requests fail fast after {left} more failure(s)."
        return (
            f"{where}; {hint}. Circuit open after {failures} consecutive failures: "
            f"requests fail at once, next retry in {self.breaker.retry_in():.1f} s."
        )
