"""`mochi mcp`: serve the workspace index to coding agents over MCP (stdio by default).

stdout is the protocol stream: everything else goes to stderr. The index is opened (and
locked) for the life of the process, as by `mochi search`.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from mochi.server.cli.errors import CliError
from mochi.server.cli.workspace import config_for, open_index
from mochi.server.cli.workspace_option import add_workspace_option
from mochi.server.generation.vllm_backend import estimate_tokens
from mochi.server.mcp.app import build_app
from mochi.server.mcp.tools import ContextSettings

log = logging.getLogger(__name__)
LOCALHOST = "127.0.0.1"


def register(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "mcp", help="serve the workspace index to coding agents over MCP (run `mochi index` first)"
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
    completion = config_for(args.workspace).completion
    with open_index(args.workspace) as index:
        if index.status().chunks == 0:
            raise CliError(
                f"the index of {index.root} is empty: run `mochi index {args.workspace}`"
            )
        # No model is loaded here: the context budget is counted with the estimate the
        # vLLM back end uses when it cannot ask its server.
        settings = ContextSettings(
            completion.context_tokens, completion.retrieval_k, estimate_tokens
        )
        app = build_app(index, settings)
        log.info("mochi mcp: serving the index of %s", index.root)
        if args.http is None:
            app.run("stdio")
        else:
            app.run("streamable-http", host=LOCALHOST, port=args.http)
    return 0
