"""The chat models `ask` talks to: the `ChatModel` protocol and `LocalChat`, which runs
the server's own `Generator` with the model's chat template.

A chat model is blocking and called from a worker thread; cancellation is cooperative
through the `CancelToken` (the local back ends check it between tokens).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from mochi.server.generation import (
    CancelToken,
    GenerationError,
    GenerationRequest,
    Generator,
)

log = logging.getLogger(__name__)

Role = Literal["system", "user", "assistant"]
ChatTemplate = Callable[[Sequence["Message"]], str]
# ChatML ends a turn with <|im_end|>; a model that runs on opens the next one.
CHATML_STOPS = ("<|im_end|>", "<|im_start|>", "<|endoftext|>")


class AskError(RuntimeError):
    """Asking failed; the message says what to do (configure an LLM, index, start a server)."""


class ChatError(AskError):
    """The chat model could not answer (unreachable, HTTP error, bad answer)."""


class LlmNotConfigured(AskError):
    """No LLM is configured for `ask` (and the local model is not chosen or available)."""


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    content: str


class ChatModel(Protocol):
    @property
    def name(self) -> str:
        """What answers, for progress messages: a URL and model, or a local model."""
        ...

    def chat(self, messages: Sequence[Message], max_tokens: int, cancel: CancelToken) -> str:
        """The assistant's reply; raises ChatError, or GenerationCancelled once cancelled."""
        ...


def chatml(messages: Sequence[Message]) -> str:
    """The plain ChatML prompt (the format of SmolLM2, Qwen and many others), ending with
    an open assistant turn."""
    turns = "".join(f"<|im_start|>{m.role}\n{m.content}<|im_end|>\n" for m in messages)
    return turns + "<|im_start|>assistant\n"


def template_from_folder(model_dir: Path) -> ChatTemplate | None:
    """The chat template of the tokenizer in `model_dir`, via transformers; None when the
    folder has none (or transformers cannot read it)."""
    if not (model_dir / "tokenizer_config.json").is_file():
        return None
    try:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(model_dir), trust_remote_code=False)
    except Exception as exc:  # a folder transformers cannot read: fall back to ChatML
        log.info("no chat template from %s (%s): using ChatML", model_dir, exc)
        return None
    if not getattr(tokenizer, "chat_template", None):
        return None

    def render(messages: Sequence[Message]) -> str:
        turns = [{"role": m.role, "content": m.content} for m in messages]
        text = tokenizer.apply_chat_template(turns, tokenize=False, add_generation_prompt=True)
        return str(text)

    return render


class LocalChat:
    """A `ChatModel` over the server's `Generator` (transformers in-process, or a vLLM
    server's completions endpoint). The prompt is the model's chat template when its
    folder has one (read lazily, once), else ChatML."""

    def __init__(self, generator: Generator, template: ChatTemplate | None = None) -> None:
        self._generator = generator
        self._template = template
        self._template_lock = threading.Lock()

    @property
    def name(self) -> str:
        return f"the local model ({Path(self._generator.info().model_id).name})"

    def prompt(self, messages: Sequence[Message]) -> str:
        return self._render()(messages)

    def chat(self, messages: Sequence[Message], max_tokens: int, cancel: CancelToken) -> str:
        request = GenerationRequest(
            prompt=self.prompt(messages), max_tokens=max_tokens, stop=CHATML_STOPS
        )
        try:
            result = self._generator.generate(request, cancel)
        except GenerationError as exc:
            raise ChatError(f"the local model failed: {exc}") from exc
        return result.text.strip()

    def _render(self) -> ChatTemplate:
        with self._template_lock:
            if self._template is None:
                folder = Path(self._generator.info().model_id)
                found = template_from_folder(folder) if folder.is_dir() else None
                self._template = found or chatml
            return self._template
