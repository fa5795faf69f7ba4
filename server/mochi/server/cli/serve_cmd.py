"""`mochi serve`: the language server over stdio (default) or TCP."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
from pathlib import Path
from typing import Any

from mochi.server.cli.errors import CliError

log = logging.getLogger(__name__)


def register(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "serve", help="run the language server (editors start this)"
    )
    p.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio")
    p.add_argument("--log-file", type=Path, help="also write logs to this file")
    p.set_defaults(run=run)


def parse_host_port(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise CliError(f"--tcp wants HOST:PORT, e.g. 127.0.0.1:2087, got {value!r}")
    return host or "127.0.0.1", int(port)


def _reserve_stdout_for_lsp() -> Any:
    """A private handle on fd 1 for the LSP stream; fd 1 itself then points at stderr,
    so a stray print (ours or a native library's) can never corrupt the protocol."""
    lsp_out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return lsp_out


def _say(line: str) -> None:
    """To stderr: stdout carries the protocol."""
    print(f"mochi serve: {line}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    from mochi.server.lsp import create_server, default_services

    if args.log_file:
        handler = logging.FileHandler(args.log_file)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logging.getLogger().addHandler(handler)
        logging.getLogger().setLevel(logging.INFO)
    address = parse_host_port(args.tcp) if args.tcp else None
    server = create_server(default_services())
    if address is not None:
        host, port = address
        shown = f"[{host}]" if ":" in host else host
        _say(f"listening for one editor on {shown}:{port} (LSP over TCP); Ctrl-C stops it")
        server.start_tcp(*address)
    else:
        if sys.stdin.isatty():  # run by hand: it would otherwise sit there, silent
            _say(
                "this is the language server: it speaks LSP on stdin/stdout and an editor "
                "starts it (editors/README.md). To try mochi by hand: `mochi demo`, "
                "`mochi search`. Ctrl-D or Ctrl-C stops it."
            )
        server.start_io(sys.stdin.buffer, _reserve_stdout_for_lsp())
    _leave_busy_workers(server.exit_code)
    return server.exit_code  # LSP: 0 after `shutdown`, 1 for `exit` without it


def _leave_busy_workers(code: int) -> None:
    """Exit now if a worker thread is still busy. The interpreter would join it first, and
    one still loading the model (torch's import alone can take half a minute on a loaded
    machine) or indexing would hold the editor's `exit` that long. The server has closed
    what it owns; what a worker leaves half done is recovered as after a kill (the index
    and the token memory are crash-safe by design, tests/rag/test_crash_recovery.py)."""
    busy = [
        t.name
        for t in threading.enumerate()
        if t is not threading.main_thread() and t.is_alive() and not t.daemon
    ]
    if not busy:
        return
    log.info("exiting without waiting for %s", ", ".join(busy))
    logging.shutdown()
    sys.stderr.flush()
    os._exit(code)
