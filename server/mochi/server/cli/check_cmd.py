"""`mochi check FILE... [--diff FILE|-]`: where code is unusual for this repository, as
`path:line:col: kind: message` lines (exit code 1 when there are findings, like a linter).
The repository's norms are learnt once per model and adapter and cached beside its index."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from mochi.rag.config import ConfigError
from mochi.rag.paths import inside_workspace
from mochi.rag.types import Progress
from mochi.server.assist.conventions import (
    ConventionFinding,
    check_diff,
    check_settings,
    check_text,
    workspace_norms,
)
from mochi.server.assist.conventions.findings import KINDS
from mochi.server.cli.errors import CliError
from mochi.server.cli.workspace import config_for
from mochi.server.cli.workspace_option import add_workspace_option
from mochi.server.generation import GenerationError
from mochi.server.generation.scoring import scorer_of


def register(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "check",
        help="convention findings: lines and names unusual for this repository",
        description="Flag lines whose surprise under the model is above the repository's "
        "own quantile, and names unlike its naming style; prints path:line:col: lines "
        "(exit code 1 when there are findings, 0 when clean).",
    )
    p.add_argument("files", nargs="*", type=Path, metavar="FILE", help="files to check")
    p.add_argument(
        "--diff",
        metavar="FILE",
        help="check only the lines this unified diff adds ('-' = stdin), e.g. "
        "`git diff | mochi check --diff -`; its files are read from the workspace",
    )
    add_workspace_option(p)
    p.add_argument("--adapter", default=None, help="score under this LoRA expert")
    p.add_argument("--quantile", type=float, default=None, help="override diagnostics.quantile")
    p.add_argument("--no-suggest", action="store_true", help="no completion of unusual lines")
    p.add_argument(
        "--kind",
        action="append",
        choices=list(KINDS),
        default=[],
        help="only findings of this kind (repeatable; default: both)",
    )
    p.add_argument("--recalibrate", action="store_true", help="learn the repository's norms again")
    p.add_argument("--json", action="store_true", help="print findings as JSON (0-based)")
    p.set_defaults(run=run)


def format_finding(f: ConventionFinding) -> str:
    return f"{f.path}:{f.line + 1}:{f.start + 1}: {f.kind}: {f.message}"


def _progress(p: Progress) -> None:
    print(f"\rmochi: {p.stage} {p.done + 1}/{p.total}", end="", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    if not args.files and args.diff is None:
        raise CliError("name FILEs to check, or --diff FILE (or - for stdin)")
    root = args.workspace.expanduser().resolve()
    config = config_for(root)
    try:
        diagnostics = replace(
            config.diagnostics,
            quantile=config.diagnostics.quantile if args.quantile is None else args.quantile,
            suggest=config.diagnostics.suggest and not args.no_suggest,
        )
    except ConfigError as exc:
        raise CliError(f"--quantile: {exc}") from None
    kinds = set(args.kind or KINDS)
    settings = replace(
        check_settings(diagnostics), surprise="surprise" in kinds, naming="naming" in kinds
    )
    diff = _read_diff(args.diff) if args.diff is not None else None
    targets = [_relative(root, f) for f in args.files]
    from mochi.server.generation.factory import make_generator

    print("mochi: loading the model", file=sys.stderr)
    try:
        generator = make_generator(config, root)
    except GenerationError as exc:
        raise CliError(str(exc)) from None
    try:
        scorer = scorer_of(generator)
        if scorer is None:
            print("mochi: this back end cannot score: naming findings only", file=sys.stderr)
        if args.adapter is not None and args.adapter not in generator.adapters():
            raise CliError(f"no adapter {args.adapter!r}; loaded: {generator.adapters()}")
        adapter = args.adapter or config.model.expert or None
        norms = workspace_norms(
            root,
            config,
            scorer,
            model=generator.info().model_id,
            adapter=adapter,
            sample_files=diagnostics.calibration_files,
            min_tokens=diagnostics.min_tokens,
            refresh=args.recalibrate,
            progress=_progress,
        )
        print(f"\rmochi: norms from {norms.lines} lines of {norms.files} files", file=sys.stderr)
        findings: list[ConventionFinding] = []
        for path in targets:
            text = (root / path).read_text(encoding="utf-8", errors="replace")
            findings += check_text(scorer, norms, path, text, adapter=adapter, settings=settings)
        if diff is not None:
            findings += check_diff(
                scorer,
                norms,
                diff,
                lambda p: _workspace_text(root, p),
                adapter=adapter,
                settings=settings,
            )
    finally:
        generator.close()
    if args.json:
        print(json.dumps([f.to_dict() for f in findings], indent=2))
    else:
        for finding in findings:
            print(format_finding(finding))
    return 1 if findings else 0


def _relative(root: Path, file: Path) -> str:
    path = file.expanduser().resolve()
    if not path.is_file():
        raise CliError(f"{file} is not a file")
    if not inside_workspace(root, path):
        raise CliError(f"{file} is outside the workspace {root}")
    return path.relative_to(root).as_posix()


def _read_diff(name: str) -> str:
    if name == "-":
        return sys.stdin.read()
    try:
        return Path(name).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise CliError(f"cannot read the diff {name}: {exc}") from None


def _workspace_text(root: Path, path: str) -> str | None:
    file = root / path
    if not inside_workspace(root, file) or not file.is_file():
        return None
    return file.read_text(encoding="utf-8", errors="replace")
