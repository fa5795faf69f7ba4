"""Blocking work that may outlive the session, in a daemon thread of its own.

A training job's event stream stays open for as long as the job runs (minutes, usually).
`asyncio.to_thread` would put it on the default executor, whose threads `asyncio.run`
joins on the way out: the server would not exit when the editor closes, only when the
job ends. A daemon thread holds nothing up; what it returns after the loop has closed
is dropped."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def in_detached_thread(work: Callable[..., T], *args: Any, name: str = "mochi-detached") -> T:
    """`work(*args)` in a new daemon thread; its result (or exception) comes back here."""
    loop = asyncio.get_running_loop()
    outcome: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if outcome.done():  # the awaiting task was cancelled
            return
        if error is not None:
            outcome.set_exception(error)
        else:
            outcome.set_result(result)  # type: ignore[arg-type]  # None only with an error

    def run() -> None:
        result: T | None = None
        error: BaseException | None = None
        try:
            result = work(*args)
        except BaseException as exc:  # handed to the awaiting task, as to_thread does
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop has closed: the session is over
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=run, name=name, daemon=True).start()
    return await outcome
