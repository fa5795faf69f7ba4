"""Put the router `[routing]` asks for in place: at start-up once the model is loaded,
again when the routing or model settings change, and when the trainer publishes another
version of the set in service (lsp/experts.py). A set or gate that cannot be used is
reported; the rules then route — except on a refresh, where what serves stays."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

from mochi.rag.paths import data_dir
from mochi.rag.routing.features import EmbedTexts, passage_embedding
from mochi.server.generation import GenerationError
from mochi.server.lsp.server import MochiServer
from mochi.server.lsp.state import WorkspaceState
from mochi.server.routing import ExpertRouter
from mochi.server.routing.factory import (
    LoadedExpertSet,
    build_router,
    expert_set_folder,
    load_expert_set,
    served_version,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RoutingSetup:
    router: ExpertRouter
    source: Path | None  # the folder the set is watched in
    loaded: LoadedExpertSet | None
    problem: str = ""  # what made it fall back to the rules
    version: tuple[Path, int] | None = None  # served_version(source) as it was read


def _embed(state: WorkspaceState) -> EmbedTexts | None:
    if state.index is not None:
        return passage_embedding(state.index.embedder)
    if state.config.routing.mode != "learned":
        return None
    if state.experts.embed is None:  # no index: a model of our own, built once
        from mochi.rag.index.workspace import build_embedder

        state.experts.embed = passage_embedding(build_embedder(state.config))
    return state.experts.embed


def _source(state: WorkspaceState) -> Path | None:
    settings = state.config.routing
    root = state.root or Path.cwd()
    return expert_set_folder(settings, root, data_dir(state.config.data_dir))


def _setup(state: WorkspaceState) -> RoutingSetup:
    """On the model thread: load the set's adapters and build the router."""
    settings = state.config.routing
    pinned = state.router.selected()  # mochi.selectExpert's choice carries over
    default = state.services.router
    source = _source(state)
    # The `default` set before its first publication: nothing to load yet (not an error).
    version = served_version(source) if source is not None else None
    wanted = source if settings.expert_set or version is not None else None
    loaded: LoadedExpertSet | None = None
    try:
        if wanted is not None and state.generator is not None:
            previous = state.experts.loaded
            loaded = load_expert_set(wanted, state.generator, settings.temperature, previous)
        router = build_router(settings, default, _embed(state), loaded, pinned)
        return RoutingSetup(router, source, loaded, "", version)
    except (ValueError, OSError, GenerationError) as exc:  # ExpertSetError, RoutingSetupError
        log.warning("routing falls back to the rules: %s", exc)
        rules = replace(settings, mode="rules")
        router = build_router(rules, default, None, loaded, pinned)
        return RoutingSetup(router, source, loaded, str(exc), version)


async def configure_routing(server: MochiServer, *, refresh: bool = False) -> bool:
    """Load and swap in the router and experts (in one step of the event loop: the next
    request has the new ones, one in flight finishes on the old). On a `refresh` that
    fails, the router in service stays. Returns whether the swap happened."""
    state = server.state
    async with state.experts_lock:  # one change of the experts at a time
        return _swap(server, await state.run_model(_setup, state), refresh)


def _swap(server: MochiServer, setup: RoutingSetup, refresh: bool) -> bool:
    state = server.state
    served = state.experts
    served.refused = setup.version if setup.problem else None  # not retried until it changes
    if setup.problem and refresh and served.loaded is not None:
        server.notify_user(f"{setup.problem}; the experts in service stay")
        return False
    if setup.problem:
        server.notify_user(f"{setup.problem}; routing by the rules instead")
    state.router = setup.router
    served.source, served.loaded = setup.source, setup.loaded
    state.rebuild_engine()
    return True
