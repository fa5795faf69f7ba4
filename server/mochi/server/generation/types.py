"""The contract between the language server and a text-generation back end.

`Generator.generate` is blocking and thread-safe to call from worker threads;
the server never calls it on the event loop. Cancellation is cooperative: the
back end checks `cancel.is_set()` between tokens (or closes its stream) and
raises GenerationCancelled.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


class GenerationError(RuntimeError):
    """The back end failed; the message says what to do (start vLLM, pull a model, ...)."""


class GenerationCancelled(Exception):
    """The request was cancelled (client $/cancelRequest or a newer request)."""


class CancelToken:
    """A thread-safe flag; `threading.Event` with a name that says what it is for."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()


@dataclass(frozen=True, slots=True)
class GenerationRequest:
    prompt: str
    max_tokens: int = 64
    temperature: float = 0.0  # 0 = greedy
    stop: tuple[str, ...] = ()  # stop strings (not included in the result)
    adapter: str | None = None  # LoRA expert name; None = the base model
    # With two or more entries, the experts to combine (delta W = sum of w_i * scale_i *
    # B_i A_i, `adapter_mix`): llama.cpp and transformers serve the combination; vLLM and
    # OpenAI-compatible servers serve `adapter` alone. `adapter` stays the top expert, the
    # one results report.
    adapter_weights: tuple[tuple[str, float], ...] = ()
    seed: int | None = None
    # Stop strings count only after the newlines the completion opens with (a suggestion
    # at the start of an empty line may begin with one).
    skip_leading_newlines: bool = False
    # Token healing (`mochi.rag.prompting.healing`): the prompt's last token is taken back
    # and the first generated token must extend its text. The transformers back end does
    # it; the vLLM back end sends the prompt as it is.
    heal: bool = False
    # Mix the model's next-token distribution with the repository's token memory
    # (`mochi.rag.memory`), when the back end has one (the transformers back end).
    memory: bool = False
    # The text after the cursor, for back ends whose server builds the FIM prompt itself
    # (ModelInfo.takes_suffix); the others ignore it (their prompt already holds it).
    suffix: str = ""


@dataclass(frozen=True, slots=True)
class GenerationResult:
    text: str
    finish_reason: str  # "stop" | "length"
    prompt_tokens: int
    completion_tokens: int
    cached_prompt_tokens: int = 0  # prompt tokens served from a cache (prefix reuse)
    seconds_prefill: float = 0.0  # time to first token
    seconds_decode: float = 0.0  # time after the first token
    adapter: str | None = None  # the adapter actually used


@dataclass(frozen=True, slots=True)
class ModelInfo:
    model_id: str  # a hub id or a local folder
    backend: str  # "transformers" | "vllm" | "openai" | ...
    context_length: int
    fim_template: str | None = None  # a name in mochi.server.completion.fim, None = no FIM
    adapters: tuple[str, ...] = ()
    # The back end receives the suffix separately (GenerationRequest.suffix) and builds
    # the FIM prompt itself: the prompt it is given is the prefix side only.
    takes_suffix: bool = False


class BackendState(StrEnum):
    READY = "ready"
    STARTING = "starting"
    DEGRADED = "degraded"  # circuit open after failures; retried later
    DOWN = "down"


@dataclass(frozen=True, slots=True)
class BackendHealth:
    state: BackendState
    detail: str = ""
    extra: dict[str, str] = field(default_factory=dict)


class Generator(Protocol):
    def info(self) -> ModelInfo: ...

    def generate(self, request: GenerationRequest, cancel: CancelToken) -> GenerationResult: ...

    def count_tokens(self, text: str) -> int: ...

    def load_adapter(self, name: str, path: str) -> None:
        """Add (or replace) a LoRA adapter at run time."""
        ...

    def adapters(self) -> list[str]: ...

    def health(self) -> BackendHealth: ...

    def close(self) -> None: ...
