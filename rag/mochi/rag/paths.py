"""Where mochi keeps its data (XDG base directories)."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from pathlib import Path


def data_dir(configured: str = "", environ: Mapping[str, str] | None = None) -> Path:
    """`configured`, else $XDG_DATA_HOME/mochi, else ~/.local/share/mochi."""
    env = os.environ if environ is None else environ
    if configured:
        return Path(configured).expanduser().resolve()
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).expanduser() / "mochi"


def workspace_id(root: Path) -> str:
    """A readable, collision-safe name for a workspace: `<folder>-<hash of its path>`."""
    resolved = root.expanduser().resolve()
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", resolved.name) or "root"
    digest = hashlib.sha256(str(resolved).encode("utf-8")).hexdigest()[:10]
    return f"{name}-{digest}"


def index_dir(data: Path, root: Path) -> Path:
    return data / "indexes" / workspace_id(root)
