"""One process at a time may write a workspace index: an advisory file lock."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO


class IndexLockedError(RuntimeError):
    """Another process has this index open."""


class IndexLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: IO[str] | None = None

    def acquire(self, what: str) -> IndexLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = self.path.open("a+")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            fh.close()
            raise IndexLockedError(
                f"the index of {what} is in use by another mochi process (pid {holder}); "
                "stop that process (or talk to it through its language server) and try again. "
                f"Lock file: {self.path}"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        self._fh = fh
        return self

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None
