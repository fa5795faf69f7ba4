"""`mochi eval`: (skeleton; filled in by the eval work)."""

from __future__ import annotations

import argparse
from typing import Any


def register(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser("eval", help="(not yet available)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    raise NotImplementedError
