"""What the MCP tools run on: one `ToolBackend` Protocol, two implementations.

`IndexBackend` answers from an index in this process: `mochi mcp`'s own (mode "local"),
or the language server's when it shares its index (the endpoint in
`mochi.server.lsp.index_share` wraps one). `SharedBackend` (`mcp/share_client.py`) is
the client that forwards each call to that running server (mode "shared").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from mochi.rag.prompting.retrieved import ContextBuilder
from mochi.server.config import MochiConfig
from mochi.server.generation.scoring import Scorer
from mochi.server.generation.types import CancelToken, Generator
from mochi.server.mcp import tools
from mochi.server.mcp.ranking import Ranking, check_candidates, rank, rank_context
from mochi.server.mcp.share_search import check_search, filters_from_wire, hits_to_wire
from mochi.server.mcp.tools import CodeIndex, ContextSettings
from mochi.server.mcp.workspace_files import ToolInputError

if TYPE_CHECKING:
    from mochi.server.mcp.conventions import ConventionReport

T = TypeVar("T")
Mode = Literal["hybrid", "dense", "sparse"]
# Runs a piece of work where it belongs (under a lock, on a server's worker thread) and
# returns its result.
Runner = Callable[[Callable[[], Any]], Any]


class ToolUnavailable(RuntimeError):
    """A tool cannot answer now (no model, a back end that cannot score, the server is
    gone); its message is meant for the agent."""


class ToolBackend(Protocol):
    @property
    def mode(self) -> str:
        """ "local" (the index opened here) or "shared" (the language server's)."""
        ...

    def search_code(
        self, query: str, limit: int, path_glob: str, exclude_tests: bool, mode: Mode
    ) -> str: ...

    def context_for(self, path: str, line: int, column: int, task: str) -> str: ...

    def explain_symbol(self, name: str, path: str, line: int) -> str: ...

    def rank_candidates(
        self, candidates: list[str], path: str, line: int, column: int, prefix: str
    ) -> Ranking: ...

    def check_conventions(self, path: str, diff: str) -> ConventionReport: ...

    def ask(self, question: str, max_sources: int) -> dict[str, Any]: ...

    def index_status(self) -> dict[str, Any]: ...

    def close(self) -> None: ...


class ModelSource(Protocol):
    """The repository-adapted model, as far as the tools need it."""

    def run(self, work: Callable[[], T]) -> T:
        """Run model work where model work runs (one call at a time)."""
        ...

    def scorer(self) -> Scorer:
        """The model's scorer (loading it if need be); raises ToolUnavailable."""
        ...

    def adapter_for(self, path: str, language: str) -> str | None:
        """The expert the completion engine would pick for `path` (None: the base)."""
        ...

    def model_id(self) -> str:
        """The loaded model's identity (what the repository's norms are keyed by)."""
        ...

    def generator(self) -> Generator:
        """The loaded model (loading it if need be); raises ToolUnavailable."""
        ...

    def describe(self) -> dict[str, Any]: ...


class IndexBackend:
    """The tools over an index in this process. `run_index` runs each index read where
    index work belongs; `settings` and `config` are read at each call (the server's
    configuration may change)."""

    def __init__(
        self,
        index: CodeIndex,
        settings: Callable[[], ContextSettings],
        models: ModelSource,
        *,
        config: Callable[[], MochiConfig],
        run_index: Runner,
        mode: str = "local",
    ) -> None:
        self._index = index
        self._settings = settings
        self._config = config
        self._models = models
        self._run_index = run_index
        self._mode = mode

    @property
    def mode(self) -> str:
        return self._mode

    @property
    def root(self) -> Path:
        return self._index.root

    def search_code(
        self, query: str, limit: int, path_glob: str, exclude_tests: bool, mode: Mode
    ) -> str:
        return self._index_work(
            lambda: tools.search_code(self._index, query, limit, path_glob, exclude_tests, mode)
        )

    def context_for(self, path: str, line: int, column: int, task: str) -> str:
        settings = self._settings()
        # A fresh builder: its cache would outlive a re-index of the server's live index.
        builder = ContextBuilder(self._index.retriever, settings.retrieval_k)
        return self._index_work(
            lambda: tools.context_for(self._index, builder, settings, path, line, column, task)
        )

    def explain_symbol(self, name: str, path: str, line: int) -> str:
        return self._index_work(lambda: tools.explain_symbol(self._index, name, path, line))

    def rank_candidates(
        self, candidates: list[str], path: str, line: int, column: int, prefix: str
    ) -> Ranking:
        check_candidates(candidates)
        context = rank_context(self._index.root, path, line, column, prefix)
        scorer = self._models.scorer()
        adapter = self._models.adapter_for(context.path, context.language)
        return self._models.run(lambda: rank(scorer, context, candidates, adapter, CancelToken()))

    def check_conventions(self, path: str, diff: str) -> ConventionReport:
        from mochi.server.mcp.conventions import check_conventions  # it imports this module

        return check_conventions(self._index.root, self._config(), self._models, path, diff)

    def ask(self, question: str, max_sources: int) -> dict[str, Any]:
        """`mochi ask`: sources from the index (on the index thread), then the answer
        by the `[ask]` LLM (the local model runs where model work runs)."""
        from mochi.server.ask import AskError, AskSettings, answer, chat_model_for, find_sources

        config = self._config().ask
        if not question.strip():
            raise ToolInputError("question is empty")
        settings = AskSettings.from_config(config)
        if max_sources > 0:
            settings = replace(settings, max_sources=max_sources)
        try:
            local = self._models.generator() if config.llm == "local" else None
            chat = chat_model_for(config, local=local)
            sources = self._index_work(
                lambda: find_sources(question, self._index.retriever, settings)
            )
            run = self._models.run if local is not None else _now
            result = run(lambda: answer(question, sources, chat, settings, CancelToken()))
        except AskError as exc:
            raise ToolUnavailable(str(exc)) from None
        return result.to_dict()

    def search_hits(
        self, query: str, limit: int, filters: dict[str, Any], mode: Mode
    ) -> list[dict[str, Any]]:
        """`mochi search` forwarded by the share: the hits as data (`share_search`)."""
        try:
            check_search(query, limit, mode)
            wanted = filters_from_wire(filters)
        except ValueError as exc:
            raise ToolInputError(str(exc)) from None
        return self._index_work(
            lambda: hits_to_wire(self._index.search(query, limit, wanted, mode))
        )

    def index_status(self) -> dict[str, Any]:
        status: dict[str, Any] = self._index_work(lambda: tools.index_status(self._index))
        return {"mode": self._mode, **status, "model": self._models.describe()}

    def close(self) -> None:
        return None

    def _index_work(self, work: Callable[[], T]) -> T:
        result: T = self._run_index(work)
        return result


def _now(work: Callable[[], T]) -> T:
    return work()
