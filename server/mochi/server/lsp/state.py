"""The runtime of one workspace inside the server: index, watcher, model, experts,
router, engine. The experts and router change in one place (lsp/experts.py)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.workspace import Workspace

from mochi.rag.index import WorkspaceIndex
from mochi.rag.index.watcher import IndexWatcher
from mochi.rag.prompting.retrieved import ContextBuilder
from mochi.server.completion.engine import CompletionEngine
from mochi.server.completion.explanation import CompletionRecord
from mochi.server.config import MochiConfig
from mochi.server.generation import CancelToken, Generator
from mochi.server.lsp.services import Services
from mochi.server.routing import ExpertRouter
from mochi.server.routing.served import ServedExperts
from mochi.server.trainer_client import NoTrainer, TrainingClient

if TYPE_CHECKING:
    from mochi.server.mcp.share_endpoint import ShareEndpoint

log = logging.getLogger(__name__)


@dataclass
class WorkspaceState:
    services: Services
    # What the client's one `initialize` set up (pygls' workspace and the client's
    # capabilities); None until it came.
    session: tuple[Workspace, types.ClientCapabilities] | None = None
    config: MochiConfig = field(default_factory=MochiConfig)
    root: Path | None = None
    index: WorkspaceIndex | None = None
    index_error: str = ""
    watcher: IndexWatcher | None = None
    # The index shared with `mochi mcp` (server.share_index); None while not shared.
    share: ShareEndpoint | None = None
    generator: Generator | None = None
    generator_error: str = ""
    engine: CompletionEngine | None = None
    trainer: TrainingClient = field(default_factory=NoTrainer)
    # One model call at a time (a CPU model is not faster in parallel); index work
    # has its own thread so a long sync never delays a completion.
    model_pool: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="mochi-model")
    )
    index_pool: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="mochi-index")
    )
    inflight: dict[str, CancelToken] = field(default_factory=dict)
    # Called with (event, uri) on didOpen/didChange/didSave/didClose ("open", "change",
    # "save", "close"), from the event loop; features that follow documents add theirs.
    document_listeners: list[Callable[[str, str], None]] = field(default_factory=list)
    # Set when the workspace closes: long background work (the token memory) stops.
    stopping: threading.Event = field(default_factory=threading.Event)
    generator_ready: asyncio.Event = field(default_factory=asyncio.Event)
    index_ready: asyncio.Event = field(default_factory=asyncio.Event)
    startup: asyncio.Task[None] | None = None
    # Long-running tasks (following a training job), kept so they are not collected.
    background: set[asyncio.Task[Any]] = field(default_factory=set)
    # The last completions' timings (mochi.timings; the latency benchmark reads them).
    recent_timings: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=256))
    # The router `[routing]` built (routing_setup); the services' router until then.
    router: ExpertRouter = field(init=False)
    # The expert set in service and the trainer's adapters loaded (lsp/experts.py).
    experts: ServedExperts = field(default_factory=ServedExperts)
    experts_lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one change at a time
    # The last completion served per document, and the last of all (mochi.explainCompletion).
    completions: dict[str, CompletionRecord] = field(default_factory=dict)
    last_completion: CompletionRecord | None = None

    def __post_init__(self) -> None:
        self.router = self.services.router

    def record_completion(self, record: CompletionRecord) -> None:
        self.completions[record.uri] = record
        self.last_completion = record

    def relative(self, path: Path) -> str:
        if self.root is not None:
            try:
                return path.resolve().relative_to(self.root).as_posix()
            except ValueError:
                pass
        return path.name

    def supersede(self, key: str) -> CancelToken:
        """A fresh token for `key` (a document); the previous request for it is cancelled."""
        previous = self.inflight.get(key)
        if previous is not None:
            previous.cancel()
        token = CancelToken()
        self.inflight[key] = token
        return token

    def finish(self, key: str, token: CancelToken) -> None:
        if self.inflight.get(key) is token:
            del self.inflight[key]

    def rebuild_engine(self) -> None:
        if self.generator is None:
            self.engine = None
            return
        context = (
            ContextBuilder(self.index.retriever, self.config.completion.retrieval_k)
            if self.index is not None
            else None
        )
        self.engine = CompletionEngine(self.generator, self.router, self.config.completion, context)

    async def run_model(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.model_pool, fn, *args)

    async def run_index(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.index_pool, fn, *args)

    def close(self) -> None:
        self.stopping.set()
        for task in self.background:
            task.cancel()
        for token in self.inflight.values():
            token.cancel()
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None
        if self.share is not None:  # before the index closes: no tool call reaches it
            self.share.close()
            self.share = None
        if self.index is not None:
            self.index.close()
            self.index = None
        if self.generator is not None:
            self.generator.close()
            self.generator = None
        self.model_pool.shutdown(wait=False, cancel_futures=True)
        self.index_pool.shutdown(wait=False, cancel_futures=True)
