"""workspace/executeCommand `mochi.ask`: an answer whose every claim cites `path:line`
(mochi.server.ask), and the code action that asks about a selection.

Arguments: the question, then optionally `{"llm": "local"|"openai", "maxSources": n,
"filters": {...}}` (the filters of mochi.search). Retrieval runs on the index's thread;
the local model on the model's; an HTTP LLM on a worker thread. A $/cancelRequest or
the progress bar's cancel stops the answer between two tokens (or streamed pieces).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInternalError, JsonRpcInvalidParams, JsonRpcRequestCancelled
from pygls.uris import from_fs_path

from mochi.rag.types import Progress
from mochi.server.ask import (
    AskError,
    AskResult,
    AskSettings,
    ChatError,
    ChatModel,
    answer,
    chat_model_for,
    find_sources,
)
from mochi.server.config import AskConfig
from mochi.server.generation import CancelToken, GenerationCancelled
from mochi.server.lsp.features.commands import _arg, _require_index
from mochi.server.lsp.features.document_text import document_text
from mochi.server.lsp.features.search_filters import search_filters
from mochi.server.lsp.progress import run_with_progress
from mochi.server.lsp.server import MochiServer

log = logging.getLogger(__name__)
ASK_SELECTION = "mochi: Ask about this selection"
OPTIONS = ("llm", "maxSources", "filters")
MAX_SELECTION_CHARS = 4000


class _LinkedCancel(CancelToken):
    """Set when the request's token is, or when the client cancels the progress bar."""

    def __init__(self, parent: CancelToken, client_cancelled: Callable[[], bool]) -> None:
        super().__init__()
        self._parent = parent
        self._client_cancelled = client_cancelled

    def is_set(self) -> bool:
        return super().is_set() or self._parent.is_set() or self._client_cancelled()


def _config(ls: MochiServer, options: dict[str, Any]) -> AskConfig:
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise JsonRpcInvalidParams(f"unknown mochi.ask option {unknown[0]!r}; known: {OPTIONS}")
    config, changes = ls.state.config.ask, {}
    if "llm" in options:
        changes["llm"] = options["llm"]
    if "maxSources" in options:
        n = options["maxSources"]
        if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
            raise JsonRpcInvalidParams("option maxSources must be a positive integer")
        changes |= {"max_sources": n, "candidates": max(config.candidates, n)}
    try:
        return dataclasses.replace(config, **changes)
    except ValueError as exc:  # ConfigError names the key
        raise JsonRpcInvalidParams(f"bad mochi.ask option: {exc}") from None


async def _chat_model(ls: MochiServer, config: AskConfig) -> ChatModel:
    if config.llm == "local":
        await ls.state.generator_ready.wait()
    error = ls.state.generator_error or "it is still loading"
    try:
        return chat_model_for(config, local=ls.state.generator, local_error=error)
    except AskError as exc:
        raise JsonRpcInvalidParams(str(exc)) from None


def _to_json(root: Path | None, result: AskResult) -> dict[str, Any]:
    out = result.to_dict()
    for item in (*out["citations"], *out["sources"]):
        path = root / item["path"] if root is not None else Path(item["path"])
        item["uri"] = from_fs_path(str(path)) or item["path"]
    return out


def _cancel_with_request(ls: MochiServer, token: CancelToken) -> None:
    """pygls runs a command as a step of the workspace/executeCommand request, so a
    $/cancelRequest cancels that request's future, not the command's task: link them."""
    futures: dict[Any, Any] = getattr(ls.protocol, "_request_futures", {})
    request = futures.get(ls.protocol.msg_id)
    if request is not None:
        request.add_done_callback(lambda f: token.cancel() if f.cancelled() else None)


async def _run_in_thread(fn: Any, *args: Any) -> Any:
    return await asyncio.to_thread(fn, *args)


async def ask(ls: MochiServer, question: str, options: dict[str, Any]) -> dict[str, Any]:
    config = _config(ls, options)
    chat = await _chat_model(ls, config)
    settings = AskSettings.from_config(config, search_filters(options.get("filters", {})))
    await ls.state.index_ready.wait()
    index = _require_index(ls)
    token = CancelToken()
    _cancel_with_request(ls, token)
    try:
        sources = await ls.state.run_index(find_sources, question, index.retriever, settings)

        def work(report: Callable[[Progress], None], client_cancelled: Callable[[], bool]) -> Any:
            def say(message: str) -> None:
                report(Progress(message, 0, 0))

            cancel = _LinkedCancel(token, client_cancelled)
            return answer(question, sources, chat, settings, cancel, say)

        run = ls.state.run_model if config.llm == "local" else _run_in_thread
        result: AskResult = await run_with_progress(ls, "mochi: asking", work, run)
    except asyncio.CancelledError:  # $/cancelRequest: stop the model too
        token.cancel()
        raise
    except GenerationCancelled:
        raise JsonRpcRequestCancelled("mochi.ask was cancelled") from None
    except ChatError as exc:
        log.warning("mochi.ask: %s", exc)
        raise JsonRpcInternalError(str(exc)) from None
    except AskError as exc:
        raise JsonRpcInvalidParams(str(exc)) from None
    return _to_json(ls.state.root, result)


def _selection(ls: MochiServer, params: types.CodeActionParams) -> tuple[str, str, int] | None:
    """(path, selected text, first line) of a non-empty selection; None otherwise."""
    document = document_text(ls, params.text_document.uri)
    if document is None:
        return None
    start, end = document.clamp(params.range.start), document.clamp(params.range.end)
    if start is None or end is None or (start.line, start.character) >= (end.line, end.character):
        return None
    lines = document.lines[start.line : end.line + 1]
    lines[-1] = lines[-1][: end.character]
    lines[0] = lines[0][start.character :]
    text = "\n".join(lines)
    return (document.path, text, start.line) if text.strip() else None


def ask_code_actions(ls: MochiServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    """ "mochi: Ask about this selection" for a non-empty selection (else none)."""
    found = _selection(ls, params)
    if found is None:
        return []
    path, text, line = found
    code = text[:MAX_SELECTION_CHARS].rstrip()
    question = f"Explain this code from {path}:{line + 1}:\n```\n{code}\n```"
    command = types.Command("Ask about this selection", "mochi.ask", arguments=[question])
    return [types.CodeAction(title=ASK_SELECTION, kind=types.CodeActionKind.Empty, command=command)]


def register(server: MochiServer) -> None:
    @server.command("mochi.ask")
    async def ask_command(ls: MochiServer, *args: Any) -> dict[str, Any]:
        question = _arg(args, 0, str, "question")
        if not question.strip():
            raise JsonRpcInvalidParams("argument 1 (question) is empty")
        return await ask(ls, question, _arg(args, 1, dict, "options", {}))
