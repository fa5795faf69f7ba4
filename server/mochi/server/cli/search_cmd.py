"""`mochi search QUERY`: ranked `path:line` hits with snippets.

When a running `mochi serve` holds the index and shares it, the query goes to that
server (`search_served`): its index and its loaded model answer in milliseconds.
Otherwise the index is opened here for queries only (`search_local`). Both print the
same. This module and the served path import no model library: a forwarded search
costs the interpreter's start-up and a socket round trip.
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import asdict
from typing import Any

from mochi.rag.types import Hit, SearchFilters
from mochi.server.cli.errors import CliError
from mochi.server.cli.workspace_option import add_workspace_option

log = logging.getLogger(__name__)


def register(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "search", help="search the workspace index (run `mochi index` first)"
    )
    p.add_argument("query", help="what to look for, in words or code")
    add_workspace_option(p)
    p.add_argument("-k", "--limit", type=int, default=10, help="number of hits (default 10)")
    p.add_argument("--glob", default="", help="only paths matching this glob, e.g. 'rag/**/*.py'")
    p.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="leave out paths matching this glob, e.g. 'docs/**' (repeatable)",
    )
    p.add_argument(
        "--no-tests",
        action="store_true",
        help="leave out test files (tests/, test_*.py, *_test.go, *.spec.ts, ...)",
    )
    p.add_argument("--lang", action="append", default=[], help="only this language (repeatable)")
    p.add_argument("--kind", action="append", default=[], help="only this chunk kind (repeatable)")
    p.add_argument(
        "--source", action="append", default=[], choices=["code", "doc", "commit", "text"]
    )
    p.add_argument("--mode", choices=["hybrid", "dense", "sparse"], default="hybrid")
    p.add_argument("--json", action="store_true", help="print hits as JSON")
    p.set_defaults(run=run)


def format_hit(rank: int, hit: Hit, snippet_lines: int = 4) -> str:
    where = f"{hit.path}:{hit.start_line}"
    label = f" {hit.symbol}" if hit.symbol else ""
    head = f"{rank:>2}. {where}{label}  [{hit.kind}, {hit.score:.3f}]"
    lines = [ln for ln in hit.text.splitlines() if ln.strip()][:snippet_lines]
    return "\n".join([head, *("      " + ln[:120] for ln in lines)])


def filters_from(args: argparse.Namespace) -> SearchFilters:
    return SearchFilters(
        path_glob=args.glob,
        languages=tuple(args.lang),
        kinds=tuple(args.kind),
        sources=tuple(args.source),
        exclude_globs=tuple(args.exclude),
        exclude_tests=args.no_tests,
    )


def find_hits(args: argparse.Namespace) -> list[Hit]:
    """From the language server that shares the index, else from the index here."""
    from mochi.rag.config import ConfigError
    from mochi.server.cli.search_served import served_hits, share_file_of
    from mochi.server.config import load_config

    if not args.workspace.is_dir():
        raise CliError(f"{args.workspace} is not a folder")
    try:
        config = load_config(args.workspace)
    except ConfigError as exc:
        raise CliError(f"bad configuration: {exc}") from None
    root = args.workspace.expanduser().resolve()
    filters = filters_from(args)
    share_file = share_file_of(config.data_dir, root)
    served = served_hits(share_file, root, args.query, args.limit, filters, args.mode)
    if served is not None:
        return served.hits
    from mochi.server.cli.search_local import local_hits

    shared = share_file.exists()
    return local_hits(config, root, args.query, args.limit, filters, args.mode, shared=shared)


def run(args: argparse.Namespace) -> int:
    if args.limit <= 0:
        raise CliError("--limit must be a positive number")
    hits = find_hits(args) if args.query.strip() else []
    if args.json:
        print(json.dumps([asdict(h) for h in hits], indent=2))
        return 0
    if not hits:
        print("no hits")
        return 1
    print("\n".join(format_hit(i + 1, h) for i, h in enumerate(hits)))
    return 0
