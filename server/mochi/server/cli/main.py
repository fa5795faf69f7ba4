"""`mochi`: one entry point, one subcommand per job."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from mochi.server.cli.errors import CliError

# Each command lives in `mochi.server.cli.<name>_cmd`, imported only when it is the one
# run (or for --help): `mochi search` must not pay for the language server's imports.
COMMANDS = (
    "index",
    "search",
    "ask",
    "doctor",
    "serve",
    "models",
    "demo",
    "trainer",
    "hooks",
    "eval",
    "mcp",
    "check",
)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or of the command `only` alone."""
    parser = argparse.ArgumentParser(
        prog="mochi",
        description="A coding assistant trained on your repository.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging on stderr")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        if only is None or name == only:
            importlib.import_module(f"mochi.server.cli.{name}_cmd").register(commands)
    return parser


def command_named(argv: Sequence[str]) -> str | None:
    """The command the arguments run when it is a known one (else None: all of them)."""
    for arg in argv:
        if arg not in ("-v", "--verbose"):
            return arg if arg in COMMANDS else None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(only=command_named(arguments))
    args = parser.parse_args(arguments)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        result: int = args.run(args)
        return result
    except CliError as exc:
        print(f"mochi: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("mochi: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
