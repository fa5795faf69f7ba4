"""`OpenAIChat`: a `ChatModel` over an OpenAI-compatible `/v1/chat/completions`
endpoint — Ollama (`http://127.0.0.1:11434`), llama.cpp's `llama-server`, vLLM, or a
hosted API.

The answer is streamed (`"stream": true`), so a cancel takes effect between two
streamed pieces; a server that ignores `stream` and sends one JSON body is read too.
`timeout_seconds` bounds the longest silence (connecting, or between two pieces).
The API key is read from the environment variable the configuration names, when the
request is made; it is never stored in the configuration.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import httpx

from mochi.server.ask.chat import ChatError, Message
from mochi.server.generation import CancelToken, GenerationCancelled

CONNECT_TIMEOUT_SECONDS = 5.0


def base_url(url: str) -> str:
    """`http://host:port` from what users paste: a trailing `/` or `/v1` is dropped."""
    url = url.strip().rstrip("/")
    return url.removesuffix("/v1")


class OpenAIChat:
    def __init__(
        self,
        url: str,
        model: str,
        *,
        api_key_env: str = "",
        timeout_seconds: float = 120.0,
        temperature: float = 0.0,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.url = base_url(url)
        self.model = model
        self._api_key_env = api_key_env
        self._environ = os.environ if environ is None else environ
        self._temperature = temperature
        self._timeout = httpx.Timeout(timeout_seconds, connect=CONNECT_TIMEOUT_SECONDS)

    @property
    def name(self) -> str:
        return f"{self.model or 'the default model'} at {self.url}"

    def chat(self, messages: Sequence[Message], max_tokens: int, cancel: CancelToken) -> str:
        body: dict[str, Any] = {
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": max_tokens,
            "temperature": self._temperature,
            "stream": True,
        }
        if self.model:
            body["model"] = self.model
        endpoint = f"{self.url}/v1/chat/completions"
        try:
            with (
                httpx.Client(timeout=self._timeout) as client,
                client.stream("POST", endpoint, json=body, headers=self._headers()) as response,
            ):
                if response.status_code >= 400:
                    response.read()
                    raise ChatError(self._http_error(response))
                kind = response.headers.get("content-type", "")
                if "text/event-stream" in kind:
                    return _read_stream(response.iter_lines(), cancel)
                response.read()
                return _read_body(response.text)
        except httpx.ConnectError as exc:
            raise ChatError(
                f"cannot reach the LLM at {self.url} ({exc}): is the server running? "
                "(set [ask] url)"
            ) from exc
        except httpx.TimeoutException as exc:
            raise ChatError(
                f"the LLM at {self.url} did not answer within "
                f"{self._timeout.read:.0f} s (raise [ask] timeout_seconds)"
            ) from exc
        except httpx.HTTPError as exc:
            raise ChatError(f"talking to the LLM at {self.url} failed: {exc}") from exc

    def _headers(self) -> dict[str, str]:
        if not self._api_key_env:
            return {}
        key = self._environ.get(self._api_key_env, "")
        if not key:
            raise ChatError(
                f"[ask] api_key_env names {self._api_key_env}, which is not set in the "
                'environment: export it, or set api_key_env = "" for a server without a key'
            )
        return {"Authorization": f"Bearer {key}"}

    def _http_error(self, response: httpx.Response) -> str:
        detail = _error_detail(response.text)
        hint = ""
        if response.status_code in (401, 403):
            hint = " (the API key: set [ask] api_key_env to the variable that holds it)"
        elif response.status_code == 404:
            hint = f" (is [ask] model = {self.model!r} served there? is the URL right?)"
        return f"the LLM at {self.url} answered HTTP {response.status_code}: {detail}{hint}"


def _error_detail(text: str) -> str:
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return text.strip()[:300] or "(no body)"
    error = data.get("error", data) if isinstance(data, dict) else data
    if isinstance(error, dict):
        error = error.get("message", error)
    return str(error)[:300]


def _read_stream(lines: Iterator[str], cancel: CancelToken) -> str:
    """The concatenated `delta.content` of a streamed chat completion."""
    parts: list[str] = []
    for line in lines:
        if cancel.is_set():
            raise GenerationCancelled()
        if not line.startswith("data:"):
            continue
        data = line[len("data:") :].strip()
        if data == "[DONE]":
            break
        if not data:
            continue
        event = _json_object(data)
        if "error" in event:
            raise ChatError(f"the LLM failed while answering: {_error_detail(data)}")
        for choice in event.get("choices") or ():
            delta = choice.get("delta") or {}
            if isinstance(delta.get("content"), str):
                parts.append(delta["content"])
    if cancel.is_set():
        raise GenerationCancelled()
    return "".join(parts).strip()


def _read_body(text: str) -> str:
    """The message content of a non-streamed chat completion."""
    data = _json_object(text)
    try:
        content = data["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise ChatError(
            f"the LLM's answer has no choices[0].message.content: {text[:300]!r}"
        ) from None
    if not isinstance(content, str):
        raise ChatError(f"the LLM's answer content is not text: {content!r}")
    return content.strip()


def _json_object(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise ChatError(f"the LLM sent something that is not JSON: {text[:300]!r}") from None
    if not isinstance(data, dict):
        raise ChatError(f"the LLM sent JSON that is not an object: {text[:300]!r}")
    return data
