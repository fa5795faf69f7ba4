"""The bearer token: generated on first start, stored mode 0600, reused afterwards."""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path


def load_or_create_token(path: Path) -> str:
    """Read the token at `path`, or create it (exclusive create, mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        token = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        token = ""
    if token:
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            os.chmod(path, 0o600)  # never leave it readable by others
        return token
    token = secrets.token_urlsafe(32)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, (token + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # fails if another daemon created it meanwhile
    except FileExistsError:
        return load_or_create_token(path)
    finally:
        tmp.unlink(missing_ok=True)
    return token
