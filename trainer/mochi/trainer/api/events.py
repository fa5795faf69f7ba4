"""Server-sent events for one job: its state and progress until it finishes."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import anyio
from starlette.concurrency import run_in_threadpool

from mochi.trainer.jobs.errors import JobNotFound
from mochi.trainer.jobs.store import JobStore
from mochi.trainer.protocol import EVENTS_KEEPALIVE_SECONDS


def sse(event: str, data: str, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    lines = "".join(f"data: {line}\n" for line in data.splitlines() or [""])
    return f"{head}event: {event}\n{lines}\n"


async def job_events(store: JobStore, job_id: str, poll_seconds: float) -> AsyncIterator[str]:
    """`state` events when the state changes (the first event is one), `progress` events
    when only the progress or result moved; ends after the final state."""
    last_revision, last_state = -1, None
    last_sent = time.monotonic()
    while True:
        try:
            stored = await run_in_threadpool(store.get_stored, job_id)
        except JobNotFound:
            yield sse("error", json.dumps({"detail": f"no job {job_id!r}"}))
            return
        if stored.revision != last_revision:
            view = stored.view
            kind = "state" if view.state != last_state else "progress"
            yield sse(kind, json.dumps(view.to_json()), stored.revision)
            last_revision, last_state = stored.revision, view.state
            last_sent = time.monotonic()
            if view.state.finished:
                return
        elif time.monotonic() - last_sent > EVENTS_KEEPALIVE_SECONDS:
            yield ": keep-alive\n\n"
            last_sent = time.monotonic()
        await anyio.sleep(poll_seconds)
