"""The language server shares its open index with `mochi mcp` (`server.share_index`):
the MCP tools answered from the server's live, watched index and its loaded model, so
that no second process fights for the index lock.

The endpoint (`mochi.server.mcp.share_endpoint`) listens on its own threads; every index
read is handed to the server's index thread and every model call to its model thread,
so a tool call never races the server's own indexing nor its completions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import CancelledError, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

from mochi.rag.index import WorkspaceIndex
from mochi.server.generation.scoring import Scorer, scorer_of
from mochi.server.generation.types import Generator
from mochi.server.generation.vllm_backend import estimate_tokens
from mochi.server.lsp.state import WorkspaceState
from mochi.server.mcp.backend import IndexBackend, Runner, ToolUnavailable
from mochi.server.mcp.local_model import cannot_score
from mochi.server.mcp.share_endpoint import ShareEndpoint
from mochi.server.mcp.share_wire import share_path, socket_path
from mochi.server.mcp.tools import ContextSettings

log = logging.getLogger(__name__)
T = TypeVar("T")
INDEX_WAIT_S = 120.0  # a tool call waits this long behind a sync before giving up
MODEL_WAIT_S = 300.0


def in_pool(pool: ThreadPoolExecutor, wait_s: float, what: str) -> Runner:
    def run(work: Callable[[], Any]) -> Any:
        try:
            future = pool.submit(work)
        except RuntimeError:  # the pool is shut down
            raise ToolUnavailable("the language server is shutting down") from None
        try:
            return future.result(timeout=wait_s)
        except FutureTimeout:
            future.cancel()
            raise ToolUnavailable(
                f"the language server's {what} is busy (for over {wait_s:.0f} s); try again"
            ) from None
        except CancelledError:
            raise ToolUnavailable("the language server is shutting down") from None

    return run


class ServerModel:
    """The `ModelSource` of the running server: its generator, its router."""

    def __init__(self, state: WorkspaceState) -> None:
        self._state = state
        self._run = in_pool(state.model_pool, MODEL_WAIT_S, "model")

    def run(self, work: Callable[[], T]) -> T:
        result: T = self._run(work)
        return result

    def generator(self) -> Generator:
        generator = self._state.generator
        if generator is None:
            reason = self._state.generator_error or "it is still loading; try again shortly"
            raise ToolUnavailable(f"the language server has no model: {reason}")
        return generator

    def scorer(self) -> Scorer:
        generator = self.generator()
        scorer = scorer_of(generator)
        if scorer is None:
            raise cannot_score(generator.info().backend)
        return scorer

    def adapter_for(self, path: str, language: str) -> str | None:
        generator = self._state.generator
        available = generator.adapters() if generator is not None else []
        return self._state.router.choose(path, language, available)

    def model_id(self) -> str:
        return self.generator().info().model_id

    def describe(self) -> dict[str, Any]:
        generator = self._state.generator
        return {
            "backend": self._state.config.model.backend,
            "loaded": generator is not None,
            "adapters": generator.adapters() if generator is not None else [],
            "error": self._state.generator_error,
        }


def share_index(state: WorkspaceState, index: WorkspaceIndex) -> ShareEndpoint:
    """Start serving the MCP tools over `index`; raises OSError when it cannot listen."""

    def settings() -> ContextSettings:
        completion = state.config.completion
        return ContextSettings(completion.context_tokens, completion.retrieval_k, estimate_tokens)

    backend = IndexBackend(
        index,
        settings,
        ServerModel(state),
        config=lambda: state.config,
        run_index=in_pool(state.index_pool, INDEX_WAIT_S, "index"),
        mode="shared",
    )
    location = index.location
    endpoint = ShareEndpoint(backend, index.root, share_path(location), socket_path(location))
    endpoint.start()
    return endpoint


def update_share(state: WorkspaceState) -> None:
    """Start or stop sharing as `server.share_index` says (blocking: off the event loop)."""
    wanted = state.config.server.share_index and state.index is not None
    if wanted and state.share is None and state.index is not None:
        try:
            state.share = share_index(state, state.index)
        except OSError as exc:
            log.warning("cannot share the index with mochi mcp: %s", exc)
    elif not wanted and state.share is not None:
        share, state.share = state.share, None
        share.close()
