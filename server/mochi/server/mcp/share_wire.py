"""How a running language server shares its index with `mochi mcp`: the share file and
the messages.

The server listens on a Unix socket in a folder only its user can enter (so it opens
no TCP port) and writes the socket's path, a random token and its pid to `share.json` in
the index's folder (beside the lock file), readable by its user only; it removes both
when the index closes. Each message is one line of JSON:

    request   {"token": "...", "method": "search_code", "params": {...}}
    response  {"result": ...}  or  {"error": {"kind": "...", "message": "..."}}

`method` is a tool name, or "hello" (the server's pid and root: a liveness check). A
request without the right token is answered `unauthorized` and the connection closed.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import stat
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from mochi.rag.atomic_file import write_atomically

SHARE_FILE = "share.json"
MAX_LINE = 4 * 1024 * 1024  # one request or response, in bytes
ErrorKind = Literal["unauthorized", "bad_request", "input", "unavailable", "internal"]


@dataclass(frozen=True, slots=True)
class ShareInfo:
    socket: str  # the Unix socket's path
    token: str
    pid: int
    root: str


def new_token() -> str:
    return secrets.token_urlsafe(32)


def share_path(index_location: Path) -> Path:
    return index_location / SHARE_FILE


def socket_path(index_location: Path, environ: dict[str, str] | None = None) -> Path:
    """Where the server's socket goes: `mochi-<uid>` (mode 0700) in $XDG_RUNTIME_DIR or
    the temp folder, named for the index. Not in the index's folder itself: a socket's
    path must stay under about 100 bytes, and data folders can be deep."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    if not Path(base).is_dir():
        base = tempfile.gettempdir()
    folder = Path(base) / f"mochi-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise OSError(f"{folder} is not a folder of this user's")
    if stat.S_IMODE(info.st_mode) != 0o700:
        folder.chmod(0o700)
    name = hashlib.sha256(str(index_location).encode()).hexdigest()[:24]
    return folder / f"{name}.sock"


def write_share_file(path: Path, info: ShareInfo) -> None:
    """Atomically, mode 0600 from the start (the token never sits in a readable file)."""
    write_atomically(path, json.dumps(asdict(info)), prefix=".share-")


def read_share_file(path: Path) -> ShareInfo | None:
    """The file's content, or None when it is missing or not one of ours."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return ShareInfo(
            str(data["socket"]), str(data["token"]), int(data["pid"]), str(data["root"])
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remove_share_file(path: Path, token: str) -> None:
    """Remove the file if it is still this server's (a newer one may have replaced it)."""
    info = read_share_file(path)
    if info is not None and info.token == token:
        path.unlink(missing_ok=True)


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but another user's
        return True
    return True


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode("utf-8") + b"\n"


def error(kind: ErrorKind, message: str) -> dict[str, Any]:
    return {"error": {"kind": kind, "message": message}}
