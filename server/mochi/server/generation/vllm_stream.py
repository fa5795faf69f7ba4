"""Reading the server-sent events of an OpenAI-style streamed `/v1/completions` answer
(vLLM, llama.cpp's server, Ollama, LM Studio).

vLLM sends one `data: {json}` event per step, then (with `stream_options.include_usage`)
one event with an empty `choices` and the `usage`, then `data: [DONE]`; the other servers
send the same events, some without the usage. The `CompletionStream` folds these events
into a `GenerationResult`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from mochi.rag.prompting.stops import find_stop
from mochi.server.generation.types import GenerationError, GenerationResult

_DONE = "[DONE]"


def parse_event(line: str, server: str = "vLLM") -> dict[str, Any] | None:
    """The JSON object of one SSE line; None for blank lines, comments, other fields and
    the final `[DONE]` (see `is_done`). `server` names the sender in errors."""
    if not line.startswith("data:"):
        return None
    data = line[len("data:") :].strip()
    if not data or data == _DONE:
        return None
    try:
        event = json.loads(data)
    except json.JSONDecodeError as exc:
        raise GenerationError(f"{server} sent an event that is not JSON: {data[:200]!r}") from exc
    if not isinstance(event, dict):
        raise GenerationError(f"{server} sent an event that is not an object: {data[:200]!r}")
    return event


def is_done(line: str) -> bool:
    return line.startswith("data:") and line[len("data:") :].strip() == _DONE


@dataclass(slots=True)
class CompletionStream:
    """Accumulates the events of one streamed completion (one choice)."""

    started_at: float  # when the request was sent (time.monotonic())
    server: str = "vLLM"  # how errors name the sender
    parts: list[str] = field(default_factory=list)
    finish_reason: str | None = None
    first_token_at: float | None = None
    text_events: int = 0
    usage: dict[str, Any] | None = None

    def feed(self, line: str, now: float) -> bool:
        """Take one SSE line; True once the stream is complete."""
        if is_done(line):
            return True
        event = parse_event(line, self.server)
        if event is None:
            return False
        if "error" in event:
            error = event["error"]
            message = error.get("message", error) if isinstance(error, dict) else error
            raise GenerationError(f"{self.server} failed during generation: {message}")
        if isinstance(event.get("usage"), dict):
            self.usage = event["usage"]
        for choice in event.get("choices") or ():
            self._take_choice(choice, now)
        return False

    def cut_at(self, stops: tuple[str, ...], *, skip_leading_newlines: bool) -> bool:
        """Stops the server was not given (see `client_side_stops`): True, and the text
        cut before the stop, once one occurs."""
        text = "".join(self.parts)
        cut = find_stop(text, stops, skip_leading_newlines=skip_leading_newlines)
        if cut is None:
            return False
        self.parts = [text[:cut]]
        self.finish_reason = "stop"
        return True

    def _take_choice(self, choice: dict[str, Any], now: float) -> None:
        text = choice.get("text") or ""
        reason = choice.get("finish_reason")
        if (text or reason) and self.first_token_at is None:
            self.first_token_at = now
        if text:
            self.parts.append(text)
            self.text_events += 1
        if reason:
            self.finish_reason = str(reason)

    def result(self, adapter: str | None, now: float) -> GenerationResult:
        if self.finish_reason is None:
            raise GenerationError(f"{self.server}'s stream ended before the completion finished")
        usage = self.usage or {}
        details = usage.get("prompt_tokens_details") or {}
        first = self.first_token_at if self.first_token_at is not None else now
        return GenerationResult(
            text="".join(self.parts),
            finish_reason=self.finish_reason,
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or self.text_events),
            cached_prompt_tokens=int(details.get("cached_tokens") or 0),
            seconds_prefill=first - self.started_at,
            seconds_decode=now - first,
            adapter=adapter,
        )
