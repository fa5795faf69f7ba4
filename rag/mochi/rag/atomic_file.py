"""Write a file so that a crash leaves the old one or the new one, never half of each:
a temporary file in the same folder (mode 0600 from the start), synced, renamed over."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO


def write_with(
    path: Path, write: Callable[[IO[bytes]], object], *, prefix: str = ".tmp-", suffix: str = ""
) -> Path:
    """`write(out)` fills the temporary file (binary); it then replaces `path`. A failure
    removes the temporary file and leaves `path` as it was."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_atomically(path: Path, text: str, *, prefix: str = ".tmp-", suffix: str = "") -> Path:
    """`text` (UTF-8) as the whole of `path`, atomically."""
    return write_with(
        path, lambda out: out.write(text.encode("utf-8")), prefix=prefix, suffix=suffix
    )
