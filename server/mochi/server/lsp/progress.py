"""Work-done progress for long work that runs in a thread, cancellable from the client."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from lsprotocol import types

from mochi.rag.time_left import TimeLeft
from mochi.rag.types import Progress
from mochi.server.lsp.server import MochiServer

log = logging.getLogger(__name__)
T = TypeVar("T")
Work = Callable[[Callable[[Progress], None], Callable[[], bool]], T]
# How long the client may take to answer window/workDoneProgress/create; a client that
# never answers gets the work done without a progress bar, not never.
CREATE_TIMEOUT_SECONDS = 5.0


def _client_supports_progress(server: MochiServer) -> bool:
    window = server.client_capabilities.window
    return bool(window and window.work_done_progress)


async def run_with_progress(
    server: MochiServer,
    title: str,
    work: Work[T],
    run: Callable[..., Any],
    finished: Callable[[T], str] = lambda _r: "done",
) -> T:
    """Run `work(report, should_cancel)` via `run` (an executor hop) under a progress token.

    Reports are throttled and sent from the event loop; the client's cancel
    (window/workDoneProgress/cancel) makes `should_cancel()` true.
    """
    loop = asyncio.get_running_loop()
    progress = server.work_done_progress
    token = f"mochi-{uuid.uuid4()}"
    enabled = _client_supports_progress(server)
    if enabled:
        try:
            await asyncio.wait_for(progress.create_async(token), CREATE_TIMEOUT_SECONDS)
        except TimeoutError:
            log.warning("no answer to window/workDoneProgress/create: no progress for %r", title)
            enabled = False
        except Exception:  # the client refused: carry on without a progress bar
            log.debug("client refused a progress token", exc_info=True)
            enabled = False
    if enabled:
        progress.begin(
            token,
            types.WorkDoneProgressBegin(title=title, cancellable=True, percentage=0),
        )
    last = 0.0
    time_left = TimeLeft()

    def report(p: Progress) -> None:
        nonlocal last
        now = time.monotonic()
        if not enabled or (now - last < 0.2 and p.done < p.total):
            return
        last = now
        message = f"{p.stage}: {p.done}/{p.total}" if p.total else p.stage
        if left := time_left.estimate(p.stage, p.done, p.total):
            message = f"{message}, {left}"
        value = types.WorkDoneProgressReport(message=message, percentage=p.percentage)
        loop.call_soon_threadsafe(progress.report, token, value)

    def should_cancel() -> bool:
        future = progress.tokens.get(token)
        return bool(future is not None and future.cancelled())

    try:
        result: T = await run(work, report, should_cancel)
    except BaseException:
        if enabled:
            progress.end(token, types.WorkDoneProgressEnd(message="failed"))
        raise
    if enabled:
        progress.end(token, types.WorkDoneProgressEnd(message=finished(result)))
    return result
