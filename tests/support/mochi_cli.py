"""The `mochi` command line as users run it: a real process of this interpreter."""

from __future__ import annotations

import subprocess
import sys


def mochi(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mochi.server.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
