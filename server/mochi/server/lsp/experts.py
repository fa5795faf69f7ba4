"""The one place the served experts change once the model is loaded: the trainer's
adapter versions in service (at start-up, after a job the editor followed, and those a
commit hook's job published) and a new version of the expert set in service (a
`train-experts` job). A watch looks for both every `routing.reload_seconds`; what it
finds is loaded on the model thread and swapped in for the next request, no restart."""

from __future__ import annotations

import asyncio
import logging

from lsprotocol import types

from mochi.server.generation import GenerationError
from mochi.server.lsp.routing_setup import configure_routing
from mochi.server.lsp.server import MochiServer
from mochi.server.trainer_client import NoTrainer
from mochi.server.training_jobs import current_adapters

log = logging.getLogger(__name__)
_INFO = types.MessageType.Info


async def load_adapter(ls: MochiServer, name: str, path: str) -> bool:
    """Load (or replace) one adapter on the model thread; the next request sees it."""
    generator = ls.state.generator
    if generator is None:
        return False
    try:
        await ls.state.run_model(generator.load_adapter, name, path)
    except GenerationError as exc:
        ls.notify_user(f"cannot load adapter {name!r} from {path}: {exc}")
        return False
    ls.state.experts.adapters[name] = path
    ls.state.rebuild_engine()
    return True


async def load_trained_adapters(ls: MochiServer, *, announce: bool = False) -> list[str]:
    """Load the daemon's versions in service not loaded yet (nor configured by hand);
    returns them as 'name vN'."""
    state = ls.state
    if state.generator is None or isinstance(state.trainer, NoTrainer):
        return []
    views = await asyncio.to_thread(current_adapters, state.trainer)
    loaded = []
    async with state.experts_lock:
        for view in state.experts.adapters_to_load(views, set(state.config.model.adapters)):
            if await load_adapter(ls, view.name, view.path):
                loaded.append(f"{view.name} {view.version}")
            state.experts.adapters[view.name] = view.path  # refused too: not tried again
    if announce and loaded:
        ls.notify_user(f"loaded the trainer's new adapters: {', '.join(loaded)}", _INFO)
    return loaded


async def refresh_experts(ls: MochiServer) -> bool:
    """Swap in what the trainer published since the last look; whether the set changed."""
    state = ls.state
    if state.generator is None:
        return False
    changed = await asyncio.to_thread(state.experts.set_changed)  # stat calls
    swapped = changed and await configure_routing(ls, refresh=True)
    if swapped:
        ls.notify_user(f"expert set {state.experts.label()} in service", _INFO)
    await load_trained_adapters(ls, announce=True)
    return swapped


async def watch_experts(ls: MochiServer) -> None:
    """Every `routing.reload_seconds` (read each time: the setting may change; 0 pauses)."""
    state = ls.state
    while not state.stopping.is_set():
        seconds = state.config.routing.reload_seconds
        await asyncio.sleep(seconds or 5.0)
        if not seconds or not state.generator_ready.is_set():
            continue
        try:
            await refresh_experts(ls)
        except Exception:  # the watch outlives a bad look; the log has the traceback
            log.warning("cannot refresh the experts", exc_info=True)


def start_watch(ls: MochiServer) -> None:
    task = asyncio.create_task(watch_experts(ls))
    ls.state.background.add(task)
    task.add_done_callback(ls.state.background.discard)
