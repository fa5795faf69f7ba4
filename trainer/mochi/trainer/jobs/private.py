"""Files only the daemon's user may read, like the token: folders 0700, files 0600."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

PRIVATE_UMASK = 0o077  # the daemon process creates everything with it


def private_dir(path: Path) -> Path:
    """Create `path` (parents too) and make it 0700, also when it existed already."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)  # mkdir's mode goes through the umask and skips existing folders
    return path


def private_files(*paths: Path) -> None:
    """Make the files among `paths` that exist 0600."""
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            os.chmod(path, 0o600)
