"""`mochi hooks`: (skeleton; filled in by the hooks work)."""

from __future__ import annotations

import argparse
from typing import Any


def register(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser("hooks", help="(not yet available)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    raise NotImplementedError
