"""`mochi`: one entry point, one subcommand per job."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from mochi.server.cli import (
    ask_cmd,
    check_cmd,
    demo_cmd,
    doctor_cmd,
    eval_cmd,
    hooks_cmd,
    index_cmd,
    mcp_cmd,
    models_cmd,
    search_cmd,
    serve_cmd,
    trainer_cmd,
)
from mochi.server.cli.errors import CliError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mochi",
        description="A coding assistant trained on your repository.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging on stderr")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    index_cmd.register(commands)
    search_cmd.register(commands)
    ask_cmd.register(commands)
    doctor_cmd.register(commands)
    serve_cmd.register(commands)
    models_cmd.register(commands)
    demo_cmd.register(commands)
    trainer_cmd.register(commands)
    hooks_cmd.register(commands)
    eval_cmd.register(commands)
    mcp_cmd.register(commands)
    check_cmd.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
