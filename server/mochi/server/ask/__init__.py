"""Ask with citations: retrieval, a rerank, an answer by a chat model, and every claim
of it citing `path:line` (docs/ask.md). Knows nothing of LSP, the CLI or MCP."""

from mochi.server.ask.chat import (
    AskError,
    ChatError,
    ChatModel,
    LlmNotConfigured,
    LocalChat,
    Message,
    chatml,
)
from mochi.server.ask.citations import Citation, CitedAnswer, Claim, cite
from mochi.server.ask.factory import HOW_TO_CONFIGURE, chat_model_for
from mochi.server.ask.openai_chat import OpenAIChat
from mochi.server.ask.pipeline import (
    AskResult,
    AskSettings,
    NoSources,
    answer,
    ask,
    find_sources,
)
from mochi.server.ask.sources import Source, rerank

__all__ = [
    "HOW_TO_CONFIGURE",
    "AskError",
    "AskResult",
    "AskSettings",
    "ChatError",
    "ChatModel",
    "Citation",
    "CitedAnswer",
    "Claim",
    "LlmNotConfigured",
    "LocalChat",
    "Message",
    "NoSources",
    "OpenAIChat",
    "Source",
    "answer",
    "ask",
    "chat_model_for",
    "chatml",
    "cite",
    "find_sources",
    "rerank",
]
