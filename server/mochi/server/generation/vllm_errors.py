"""Turning what vLLM's HTTP server (or the network) says into messages a person can act on."""

from __future__ import annotations

import httpx

# Answers that mean "the server is not able to serve now", counted like a lost connection.
UNAVAILABLE_STATUSES = frozenset({502, 503, 504})

START_HINT = (
    "start it with `python -m vllm.entrypoints.openai.api_server --model DIR "
    "--served-model-name NAME --enable-lora ...` or check the URL"
)

RUNTIME_LORA_HINT = (
    "vLLM only offers /v1/load_lora_adapter when its server runs with the environment "
    "variable VLLM_ALLOW_RUNTIME_LORA_UPDATING=True (and --enable-lora)"
)


def response_message(response: httpx.Response) -> str:
    """vLLM's own words for a failed request: `{"error": {"message"}}` (OpenAI style),
    `{"detail": ...}` (FastAPI), or the start of the body."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and "message" in error:
            return str(error["message"])
        if error is not None:
            return str(error)
        if "detail" in body:
            return str(body["detail"])
    return str(body)[:300]


def is_missing_route(response: httpx.Response) -> bool:
    """FastAPI's 404 for a path the server does not have (not vLLM's own 404 errors)."""
    if response.status_code != 404:
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("detail") == "Not Found"


def describe_transport_error(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        kind = "connect timeout" if isinstance(exc, httpx.ConnectTimeout) else "timed out"
        return f"{kind}: {exc}" if str(exc) else kind
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
