"""initialize / initialized / didChangeConfiguration / shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidRequest
from pygls.uris import to_fs_path

from mochi.rag.config import ConfigError
from mochi.rag.config.loader import snake_case
from mochi.rag.index.watcher import IndexWatcher
from mochi.server.config import MochiConfig, load_config
from mochi.server.lsp.experts import load_trained_adapters, start_watch
from mochi.server.lsp.index_share import update_share
from mochi.server.lsp.memory_upkeep import refresh_memory, refresh_memory_now
from mochi.server.lsp.metrics_endpoint import MetricsEndpointError
from mochi.server.lsp.progress import run_with_progress
from mochi.server.lsp.routing_setup import configure_routing
from mochi.server.lsp.server import MochiServer
from mochi.server.trainer_client import NoTrainer

if TYPE_CHECKING:
    from mochi.rag.index import IndexReport

log = logging.getLogger(__name__)


def workspace_root(params: types.InitializeParams) -> Path | None:
    uri = params.root_uri
    if uri is None and params.workspace_folders:
        uri = params.workspace_folders[0].uri
    if uri is None and params.root_path:
        return Path(params.root_path)
    path = to_fs_path(uri) if uri else None
    return Path(path) if path else None


def without_key(options: Mapping[str, Any], dotted: str) -> dict[str, Any]:
    """`options` minus the setting `dotted` names (keys compared in snake_case)."""
    head, _, rest = dotted.partition(".")
    head = head.split("[", 1)[0]
    result: dict[str, Any] = {}
    for key, value in options.items():
        if snake_case(str(key)) != head:
            result[key] = value
        elif rest and isinstance(value, Mapping):
            result[key] = without_key(value, rest)
    return result


def apply_options(server: MochiServer, root: Path | None, options: Any) -> MochiConfig:
    """The workspace config with the client's options on top. A bad option is reported
    and dropped (its default applies); the other options still count."""
    base = root or Path.cwd()
    overrides: dict[str, Any] = dict(options) if isinstance(options, Mapping) else {}
    if options is not None and not isinstance(options, Mapping):
        server.notify_user(f"initializationOptions must be an object, got {options!r}; ignored")
    for _ in range(20):  # each round drops one bad key
        try:
            return load_config(base, overrides=overrides)
        except ConfigError as exc:
            server.notify_user(f"bad option {exc}; using the default for it")
            log.warning("bad configuration: %s", exc)
            smaller = without_key(overrides, exc.key) if exc.key else {}
            if smaller == overrides:  # the error is in .mochi.toml, not in the options
                break
            overrides = smaller
    try:
        return load_config(base)
    except ConfigError as exc:
        server.notify_user(f"bad .mochi.toml: {exc}; using built-in defaults")
        return MochiConfig()


def connect_trainer(server: MochiServer) -> None:
    """The trainer client for the current config (a bad trainer.url is reported; the
    server then runs without a trainer)."""
    state = server.state
    try:
        state.trainer = state.services.make_trainer(state.config)
    except ValueError as exc:
        server.notify_user(str(exc))
        state.trainer = NoTrainer()


async def serve_metrics(server: MochiServer) -> None:
    """Start, move or stop the /metrics endpoint as `server.metrics_port` says (off the
    event loop: stopping one waits for its thread). A port in use is reported and the
    language server runs on without the endpoint."""
    settings = server.state.config.server
    endpoint = server.metrics_endpoint
    try:
        await asyncio.to_thread(endpoint.serve, settings.metrics_host, settings.metrics_port)
    except MetricsEndpointError as exc:
        log.warning("%s", exc)
        server.notify_user(f"{exc}; the language server runs on without it")


def refuse_second_initialize(server: MochiServer) -> None:
    """LSP allows one `initialize`. pygls has already put a fresh workspace (no open
    documents, maybe no root) and the new client capabilities in place when our handler
    runs: put the session's back, then answer InvalidRequest (-32600)."""
    state = server.state
    assert state.session is not None
    server.protocol._workspace, server.protocol.client_capabilities = state.session
    raise JsonRpcInvalidRequest(
        "initialize may be sent only once per session; the server keeps serving "
        f"{state.root or 'no workspace folder'}"
    )


def _index_summary(report: IndexReport) -> str:
    return report.summary()


async def open_index(server: MochiServer) -> None:
    state = server.state
    if state.root is None:
        state.index_error = "no workspace folder: the index is off"
        server.notify_user(
            "no workspace folder, so nothing is indexed: completions work without "
            "context from the rest of the project, and search, hover and training are "
            "off. Open the repository's folder (a folder with .git, pyproject.toml or "
            ".mochi.toml counts as one).",
            types.MessageType.Info,
        )
        return
    try:
        state.index = await state.run_index(state.services.open_index, state.root, state.config)
    except Exception as exc:
        state.index_error = str(exc)
        server.notify_user(f"the index is unavailable: {exc}")
        log.warning("cannot open the index", exc_info=True)
        return
    await asyncio.to_thread(update_share, state)  # `mochi mcp` answers from this index


async def load_generator(server: MochiServer) -> None:
    state = server.state
    try:
        state.generator = await state.run_model(
            state.services.make_generator, state.config, state.root or Path.cwd()
        )
        state.generator_error = ""
        state.experts.adapters.clear()  # the trainer's adapters go into the new model too
    except Exception as exc:
        state.generator = None
        state.generator_error = str(exc)
        server.notify_user(f"no model for completions: {exc}", types.MessageType.Error)
        log.warning("cannot load the model", exc_info=True)
    if state.generator is not None:  # the expert set's adapters belong to the model
        await configure_routing(server)
    state.rebuild_engine()
    state.generator_ready.set()


async def sync_index(server: MochiServer, title: str = "mochi: indexing") -> IndexReport | None:
    index = server.state.index
    if index is None:
        return None
    report: IndexReport = await run_with_progress(
        server,
        title,
        lambda report_cb, cancel: index.sync(report_cb, cancel),
        server.state.run_index,
        _index_summary,
    )
    if server.state.engine is not None and server.state.engine.context is not None:
        server.state.engine.context.invalidate()
    await refresh_memory(server)
    return report


def _start_watcher(server: MochiServer) -> None:
    state = server.state
    index = state.index
    if index is None or state.root is None:
        return

    def on_change() -> None:
        index.sync()
        engine = state.engine
        if engine is not None and engine.context is not None:
            engine.context.invalidate()
        try:
            refresh_memory_now(state, stopping=state.stopping)
        except Exception:
            log.warning("cannot update the token memory", exc_info=True)

    state.watcher = IndexWatcher(state.root, on_change, state.config.index.watch_debounce_ms)
    state.watcher.start()


async def start_workspace(server: MochiServer) -> None:
    state = server.state
    await open_index(server)
    state.index_ready.set()
    loading = asyncio.create_task(load_generator(server))
    try:
        await sync_index(server)
    except Exception as exc:
        server.notify_user(f"indexing failed: {exc}")
        log.exception("initial indexing failed")
    _start_watcher(server)
    await loading
    state.rebuild_engine()
    await load_trained_adapters(server)
    start_watch(server)  # from now on a published set or adapter loads without a restart
    await refresh_memory(server)


def register(server: MochiServer) -> None:
    @server.feature(types.INITIALIZE)
    def initialize(ls: MochiServer, params: types.InitializeParams) -> None:
        if ls.state.session is not None:
            refuse_second_initialize(ls)
        ls.state.session = (ls.workspace, params.capabilities)
        ls.state.root = workspace_root(params)
        if ls.state.root is not None:
            ls.state.root = ls.state.root.resolve()
        ls.state.config = apply_options(ls, ls.state.root, params.initialization_options)

    @server.feature(types.INITIALIZED)
    async def initialized(ls: MochiServer, params: types.InitializedParams) -> None:
        if ls.state.startup is not None:  # sent again (after a refused initialize, say)
            return
        connect_trainer(ls)
        # Tracked on the state so it is not garbage-collected mid-flight.
        ls.state.startup = asyncio.create_task(start_workspace(ls))
        await serve_metrics(ls)

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(
        ls: MochiServer, params: types.DidChangeConfigurationParams
    ) -> None:
        settings = params.settings
        if isinstance(settings, Mapping) and "mochi" in settings:
            settings = settings["mochi"]
        old = ls.state.config
        ls.state.config = apply_options(ls, ls.state.root, settings)
        new = ls.state.config
        if (new.trainer, new.data_dir) != (old.trainer, old.data_dir):
            connect_trainer(ls)
        if new.server != old.server:
            await serve_metrics(ls)
            await asyncio.to_thread(update_share, ls.state)
        if ls.state.config.model != old.model:
            ls.state.generator_ready.clear()
            if ls.state.generator is not None:
                ls.state.generator.close()
            await load_generator(ls)
            await refresh_memory(ls)
        else:
            if new.routing != old.routing:
                await configure_routing(ls)  # rebuilds the engine too
            ls.state.rebuild_engine()
            if (new.memory, new.completion.memory) != (old.memory, old.completion.memory):
                await refresh_memory(ls)

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: MochiServer, params: None) -> None:
        ls.state.close()
