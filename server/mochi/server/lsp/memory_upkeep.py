"""The workspace's token memory in the language server: built after the first indexing,
brought up to date after every index sync (a save, the watcher, `mochi.reindex`), on the
index thread, reading only the files that changed. Each model call takes the generator's
lock for one window of tokens, so completions wait at most that long behind it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from mochi.rag.memory import MemoryReport
from mochi.rag.types import Progress
from mochi.server.generation import GenerationError
from mochi.server.lsp.progress import run_with_progress
from mochi.server.lsp.server import MochiServer
from mochi.server.lsp.state import WorkspaceState
from mochi.server.memory.workspace_memory import build_memory, memory_backend

log = logging.getLogger(__name__)
MEMORY_DIR = "memory"


def _noop(_progress: Progress) -> None:
    pass


def refresh_memory_now(
    state: WorkspaceState,
    progress: Callable[[Progress], None] = _noop,
    should_cancel: Callable[[], bool] = lambda: False,
    *,
    stopping: threading.Event | None = None,
) -> MemoryReport | None:
    """Sync the memory with the workspace and hand it to the generator; None when the
    configuration, the back end or a missing index leaves no memory to keep."""
    generator, index, root = state.generator, state.index, state.root
    if not state.config.completion.memory or generator is None or index is None or root is None:
        return None
    try:
        backend = memory_backend(generator)
    except GenerationError as exc:
        log.info("no token memory: %s", exc)
        return None

    def cancelled() -> bool:
        return should_cancel() or (stopping is not None and stopping.is_set())

    mix, report = build_memory(
        generator,
        root,
        index.location / MEMORY_DIR,
        state.config.memory,
        rag=state.config,
        progress=progress,
        should_cancel=cancelled,
    )
    backend.use_memory(mix)
    log.info("token memory: %s", report.summary())
    return report


async def refresh_memory(server: MochiServer) -> MemoryReport | None:
    """`refresh_memory_now` on the index thread, with `$/progress` (cancellable)."""
    state = server.state
    if not state.config.completion.memory or state.generator is None or state.index is None:
        return None

    def work(report: Callable[[Progress], None], cancel: Callable[[], bool]) -> MemoryReport | None:
        return refresh_memory_now(state, report, cancel, stopping=state.stopping)

    try:
        result: MemoryReport | None = await run_with_progress(
            server,
            "mochi: token memory",
            work,
            state.run_index,
            lambda r: r.summary() if r is not None else "off",
        )
    except Exception as exc:
        server.notify_user(f"the token memory is unavailable: {exc}")
        log.warning("cannot build the token memory", exc_info=True)
        return None
    return result
