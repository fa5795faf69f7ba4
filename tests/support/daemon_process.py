"""`mochi trainer serve` as a real process (isolated XDG data dir), for end-to-end tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import httpx
from daemon_helpers import wait_for

from mochi.trainer.protocol import token_path

MOCHI = Path(sys.executable).parent / "mochi"


class DaemonProcess:
    def __init__(self, xdg: Path, model: Path, port: int, args: Sequence[str] = ()) -> None:
        self.xdg, self.model, self.port = xdg, model, port
        self.args = list(args)  # more `mochi trainer serve` options
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"http://127.0.0.1:{port}"

    def start(self) -> httpx.Client:
        env = {**os.environ, "XDG_DATA_HOME": str(self.xdg)}
        self.proc = subprocess.Popen(
            [
                str(MOCHI),
                "trainer",
                "serve",
                "--port",
                str(self.port),
                "--base-model",
                str(self.model),
                *self.args,
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(self.xdg / "daemon.log").open("ab"),
        )
        token_file = token_path(self.xdg / "mochi")
        wait_for(token_file.is_file, timeout=60, what="the token file")
        http = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token_file.read_text().strip()}"},
            timeout=10,
        )

        def healthy() -> bool:
            assert self.proc is not None and self.proc.poll() is None, self.log()
            try:
                return http.get("/health").status_code == 200
            except httpx.TransportError:
                return False

        wait_for(healthy, timeout=60, what="the daemon")
        return http

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(30)

    def log(self) -> str:
        return (self.xdg / "daemon.log").read_text(errors="replace")
