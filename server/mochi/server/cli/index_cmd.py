"""`mochi index [PATH]`: build or update the workspace index."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from mochi.rag.index.catalogue import IndexEntry, collect_orphans, list_indexes
from mochi.rag.paths import data_dir
from mochi.server.cli.errors import CliError
from mochi.server.cli.progress_bar import ProgressBar
from mochi.server.cli.workspace import config_for, open_index


def register(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "index", help="index a workspace (incremental: only changes are embedded)"
    )
    p.add_argument("path", nargs="?", default=".", type=Path, help="workspace root (default: .)")
    p.add_argument("--rebuild", action="store_true", help="drop the index and build it anew")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    kept = p.add_mutually_exclusive_group()
    kept.add_argument(
        "--list", action="store_true", help="list the indexes in the data folder (PATH's config)"
    )
    kept.add_argument(
        "--gc", action="store_true", help="remove the indexes whose workspace folder is gone"
    )
    p.add_argument("--dry-run", action="store_true", help="with --gc: say what would go")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.dry_run and not args.gc:
        raise CliError("--dry-run goes with --gc")
    if args.list or args.gc:
        if args.rebuild:
            raise CliError("--rebuild indexes PATH; it does not go with --list or --gc")
        data = data_dir(config_for(args.path).data_dir)
        return list_run(data, args.json) if args.list else gc_run(data, args.dry_run, args.json)
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
    # The counts `mochi.status` shows in the editor: what the index holds.
    print(
        f"index: {status.location} ({status.backend}, {status.documents} documents, "
        f"{status.chunks} chunks)"
    )
    return 0


def _size(n: int) -> str:
    value, unit = float(n), "B"
    for bigger in ("KB", "MB", "GB"):
        if value < 1000:
            break
        value, unit = value / 1000, bigger
    return f"{n} B" if unit == "B" else f"{value:.1f} {unit}"


def _describe(entry: IndexEntry) -> str:
    if entry.root is None:
        where = "workspace unknown (indexed before mochi recorded it)"
    else:
        where = f"{entry.root}{'  [gone]' if entry.orphaned else ''}"
    modified = entry.to_json()["modified"]
    return f"{_size(entry.bytes):>9}  {entry.chunks:>7} chunks  {modified}  {where}"


def list_run(data: Path, as_json: bool) -> int:
    entries = list_indexes(data)
    if as_json:
        print(json.dumps([e.to_json() for e in entries], indent=2))
        return 0
    if not entries:
        print(f"no indexes in {data / 'indexes'}")
        return 0
    print(f"indexes in {data / 'indexes'}:")
    for entry in entries:
        print(_describe(entry))
    total = sum(e.bytes for e in entries)
    gone = [e for e in entries if e.orphaned]
    print(f"{len(entries)} indexes, {_size(total)}", end="")
    if gone:
        print(
            f"; {len(gone)} of them ({_size(sum(e.bytes for e in gone))}) for folders "
            "that are gone: `mochi index --gc` removes them"
        )
    else:
        print()
    return 0


def gc_run(data: Path, dry_run: bool, as_json: bool) -> int:
    removed, kept = collect_orphans(data, dry_run=dry_run)
    if as_json:
        out = {"removed": [e.to_json() for e in removed], "kept": kept, "dry_run": dry_run}
        print(json.dumps(out, indent=2))
        return 0
    verb = "would remove" if dry_run else "removed"
    for entry in removed:
        print(f"{verb} {entry.location} ({_size(entry.bytes)}; workspace {entry.root} is gone)")
    for reason in kept:
        print(f"kept {reason}", file=sys.stderr)
    freed = _size(sum(e.bytes for e in removed))
    print(f"{verb} {len(removed)} index(es), {freed}" if removed else "nothing to remove")
    return 0
