"""Where mochi keeps its data (XDG base directories), and where a workspace ends."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from pathlib import Path

from mochi.rag.file_names import name_bytes


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
    digest = hashlib.sha256(name_bytes(str(resolved))).hexdigest()[:10]
    return f"{name}-{digest}"


def index_dir(data: Path, root: Path) -> Path:
    return data / "indexes" / workspace_id(root)


def inside_workspace(root: Path, path: Path) -> bool:
    """Whether `path`, with every symbolic link on the way followed, lies inside `root`.

    The check every reader of a workspace file makes first, so that a link (or a chain
    of links) never leads it out of the root. A link loop counts as outside.
    """
    try:
        resolved = Path(path).resolve()
        top = Path(root).resolve()
    except (OSError, RuntimeError):  # RuntimeError: a link loop (before Python 3.13)
        return False
    return resolved.is_relative_to(top)
