"""`mochi index [PATH]`: build or update the workspace index."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from mochi.server.cli.progress_bar import ProgressBar
from mochi.server.cli.workspace import open_index


def register(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "index", help="index a workspace (incremental: only changes are embedded)"
    )
    p.add_argument("path", nargs="?", default=".", type=Path, help="workspace root (default: .)")
    p.add_argument("--rebuild", action="store_true", help="drop the index and build it anew")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    with open_index(args.path, rebuild=args.rebuild) as index:
        show_bar = not args.quiet and not args.json and sys.stderr.isatty()
        with ProgressBar(enabled=show_bar) as bar:
            report = index.sync(progress=bar)
        status = index.status()
    if args.json:
        print(json.dumps({"report": asdict(report), "status": asdict(status)}, indent=2))
        return 0
    print(f"indexed {status.root}: {report.summary()}")
    skips = report.skips
    if skips.total():
        reasons = {
            k: getattr(skips, k)
            for k in (
                "binary",
                "too_large",
                "undecodable",
                "secret_file",
                "secret_chunk",
                "empty",
                "outside_workspace",
                "symlink",
            )
            if getattr(skips, k)
        }
        print("skipped: " + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in reasons.items()))
    print(f"index: {status.location} ({status.backend}, {status.chunks} chunks)")
    return 0
