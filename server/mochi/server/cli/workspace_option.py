"""The one way a command that takes something else as its argument names the workspace:
`-w/--workspace DIR` (`--path` is the older spelling). Commands whose argument *is* the
workspace (index, demo, doctor, eval) take it as PATH instead."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_workspace_option(parser: argparse.ArgumentParser, what: str = "workspace root") -> None:
    parser.add_argument(
        "-w",
        "--workspace",
        "--path",
        dest="workspace",
        type=Path,
        default=Path("."),
        metavar="DIR",
        help=f"{what} (default: .)",
    )
