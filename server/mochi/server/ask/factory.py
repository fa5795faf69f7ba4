"""The chat model that `[ask]` configures, with a message that says what to set when
none is."""

from __future__ import annotations

from collections.abc import Mapping

from mochi.server.ask.chat import ChatModel, LlmNotConfigured, LocalChat
from mochi.server.ask.openai_chat import OpenAIChat
from mochi.server.config import ASK_LLMS, AskConfig
from mochi.server.generation import Generator

HOW_TO_CONFIGURE = (
    'set [ask] llm = "openai" with url = "http://127.0.0.1:11434" (Ollama; llama.cpp\'s '
    'llama-server and vLLM: their URL) and model = "<a model it serves>" in .mochi.toml '
    '(or MOCHI_ASK__LLM, MOCHI_ASK__URL, MOCHI_ASK__MODEL), or llm = "local" to use the '
    "model of [model]; see docs/ask.md"
)


def chat_model_for(
    config: AskConfig,
    *,
    llm: str | None = None,
    local: Generator | None = None,
    local_error: str = "",
    environ: Mapping[str, str] | None = None,
) -> ChatModel:
    """The chat model for `llm` (default: `config.llm`). `local` is the loaded model
    (None when it is not loaded: `local_error` says why)."""
    choice = config.llm if llm is None else llm
    if choice not in ASK_LLMS:
        raise LlmNotConfigured(f"unknown LLM {choice!r}: use one of {list(ASK_LLMS)}")
    if choice == "openai":
        if not config.url:
            raise LlmNotConfigured(f"ask.llm = 'openai' needs ask.url: {HOW_TO_CONFIGURE}")
        return OpenAIChat(
            config.url,
            config.model,
            api_key_env=config.api_key_env,
            timeout_seconds=config.timeout_seconds,
            environ=environ,
        )
    if choice == "local":
        if local is None:
            why = f" ({local_error})" if local_error else ""
            raise LlmNotConfigured(
                f"ask.llm = 'local' but the local model is not available{why}: {HOW_TO_CONFIGURE}"
            )
        return LocalChat(local)
    raise LlmNotConfigured(f"no LLM is configured for ask: {HOW_TO_CONFIGURE}")
