"""`mochi search QUERY`: ranked `path:line` hits with snippets."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import Any

from mochi.rag.types import Hit, SearchFilters
from mochi.server.cli.errors import CliError
from mochi.server.cli.workspace import open_index
from mochi.server.cli.workspace_option import add_workspace_option


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


def run(args: argparse.Namespace) -> int:
    if args.limit <= 0:
        raise CliError("--limit must be a positive number")
    filters = filters_from(args)
    with open_index(args.workspace) as index:
        if index.status().chunks == 0:
            raise CliError(
                f"the index of {index.root} is empty: run `mochi index {args.workspace}`"
            )
        hits = index.search(args.query, args.limit, filters, args.mode)
    if args.json:
        print(json.dumps([asdict(h) for h in hits], indent=2))
        return 0
    if not hits:
        print("no hits")
        return 1
    print("\n".join(format_hit(i + 1, h) for i, h in enumerate(hits)))
    return 0
