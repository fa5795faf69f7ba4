"""`mochi mcp`: serve the workspace index to coding agents over MCP (stdio by default).

stdout is the protocol stream: everything else goes to stderr. When no language server
holds the index, it is opened (and locked) here for the life of the process, as by
`mochi search` (local mode). When a running `mochi serve` holds it and shares it, each
tool call is forwarded to that server (shared mode): its live, watched index and its
loaded model answer, and nothing fights for the lock.
"""

from __future__ import annotations

import argparse
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mochi.rag.paths import data_dir, index_dir
from mochi.server.cli.errors import CliError
from mochi.server.cli.workspace import config_for, open_index
from mochi.server.cli.workspace_option import add_workspace_option
from mochi.server.config import MochiConfig
from mochi.server.generation.vllm_backend import estimate_tokens
from mochi.server.mcp.app import build_app
from mochi.server.mcp.backend import IndexBackend, ToolBackend
from mochi.server.mcp.local_model import LazyModel
from mochi.server.mcp.share_client import SharedBackend, find_share
from mochi.server.mcp.share_wire import share_path
from mochi.server.mcp.tools import ContextSettings

log = logging.getLogger(__name__)
LOCALHOST = "127.0.0.1"


def register(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "mcp",
        help="serve the workspace index to coding agents over MCP (the running language "
        "server's, else run `mochi index` first)",
    )
    add_workspace_option(p)
    p.add_argument(
        "--http",
        type=int,
        default=None,
        metavar="PORT",
        help=f"streamable HTTP on {LOCALHOST}:PORT/mcp instead of stdio",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.http is not None and not 0 < args.http < 65536:
        raise CliError("--http must be a port number (1-65535)")
    with tool_backend(args.workspace) as backend:
        app = build_app(backend)
        if args.http is None:
            app.run("stdio")
        else:
            app.run("streamable-http", host=LOCALHOST, port=args.http)
    return 0


def serialised() -> Callable[[Callable[[], Any]], Any]:
    """Index reads one at a time: the SDK runs tools on several threads."""
    guard = threading.Lock()

    def run(work: Callable[[], Any]) -> Any:
        with guard:
            return work()

    return run


@contextmanager
def tool_backend(workspace: Path) -> Iterator[ToolBackend]:
    config = config_for(workspace)
    root = workspace.expanduser().resolve()
    try:
        index = open_index(workspace)
    except CliError as locked:
        shared = shared_backend(config, root) if locked.exit_code == 3 else None
        if shared is None:
            raise
        log.info("mochi mcp: the index of %s is served by pid %d", root, shared.server_pid)
        yield shared
        return
    with index:
        if index.status().chunks == 0:
            raise CliError(f"the index of {index.root} is empty: run `mochi index {workspace}`")
        completion = config.completion
        # The context budget is counted with the estimate the vLLM back end uses when it
        # cannot ask its server: the model is loaded only if a ranking tool needs it.
        settings = ContextSettings(
            completion.context_tokens, completion.retrieval_k, estimate_tokens
        )
        model = LazyModel(config, index.root)
        backend = IndexBackend(
            index, lambda: settings, model, config=lambda: config, run_index=serialised()
        )
        log.info("mochi mcp: serving the index of %s", index.root)
        try:
            yield backend
        finally:
            model.close()


def shared_backend(config: MochiConfig, root: Path) -> SharedBackend | None:
    """The running language server's share of this index, if one answers."""
    file = share_path(index_dir(data_dir(config.data_dir), root))
    info = find_share(file, root)
    return SharedBackend(file, root, info) if info is not None else None
