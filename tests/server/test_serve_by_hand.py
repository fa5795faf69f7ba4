"""`mochi serve` started by hand from a terminal says what it is instead of sitting there
silent, and `--tcp` says where it listens; stdout stays the protocol's alone."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import time

import pytest
from lsp_fixtures import SERVER_COMMAND
from ports import free_port

pytestmark = pytest.mark.slow

ENV = {**os.environ, "HF_HUB_OFFLINE": "1"}


def first_stderr_line(proc: subprocess.Popen[bytes], timeout: float = 60) -> str:
    assert proc.stderr is not None
    deadline, seen = time.monotonic() + timeout, b""
    while b"\n" not in seen:
        left = deadline - time.monotonic()
        assert left > 0 and proc.poll() is None, f"nothing on stderr: {seen!r}"
        if select.select([proc.stderr], [], [], left)[0]:
            seen += os.read(proc.stderr.fileno(), 4096)
    return seen.decode().splitlines()[0]


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def test_a_terminal_on_stdin_gets_told_what_this_is() -> None:
    terminal, stdin = pty.openpty()
    proc = subprocess.Popen(
        SERVER_COMMAND, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV
    )
    os.close(stdin)
    try:
        line = first_stderr_line(proc)
        assert line.startswith("mochi serve: this is the language server")
        assert "editors/README.md" in line and "mochi demo" in line
        os.write(terminal, b"\x04")  # Ctrl-D: end of input ends the session
        assert proc.wait(30) == 0
        assert proc.stdout is not None and proc.stdout.read() == b""  # nothing but LSP there
    finally:
        stop(proc)
        os.close(terminal)


def test_a_pipe_on_stdin_gets_no_chatter() -> None:
    proc = subprocess.Popen(
        SERVER_COMMAND,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ENV,
    )
    out, err = proc.communicate(b"", timeout=60)  # an editor that hung up at once
    assert proc.returncode == 0 and out == b""
    assert b"this is the language server" not in err


def test_tcp_says_where_it_listens() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [*SERVER_COMMAND, "--tcp", f"127.0.0.1:{port}"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ENV,
    )
    try:
        assert first_stderr_line(proc) == (
            f"mochi serve: listening for one editor on 127.0.0.1:{port} (LSP over TCP); "
            "Ctrl-C stops it"
        )
    finally:
        stop(proc)
