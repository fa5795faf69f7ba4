"""The steps by which a registry on disk publishes a version all at once (the adapter
registry, registry/store.py, and the expert-set registry, experts/publish.py):

    <folder>/vN/       written into `.tmp-*` beside the versions, fsynced, renamed
    <folder>/current   "vN", replaced atomically

One publisher at a time per folder (`publisher_lock`); a crash leaves at most a `.tmp-*`
folder, which the next publish sweeps away (`sweep_leftovers`).
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

VERSION = re.compile(r"^v([1-9][0-9]*)$")
CURRENT_FILE = "current"


@contextmanager
def publisher_lock(folder: Path) -> Iterator[None]:
    """One publisher at a time in `folder`, across threads and processes."""
    with (folder / ".lock").open("a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def sweep_leftovers(folder: Path) -> None:
    """Remove the `.tmp-*` folders a crashed publish left behind."""
    for leftover in folder.glob(".tmp-*"):
        shutil.rmtree(leftover, ignore_errors=True)


def version_numbers(folder: Path) -> list[int]:
    """The numbers of the `vN` entries of `folder`, unsorted."""
    return [int(m.group(1)) for p in folder.iterdir() if (m := VERSION.match(p.name))]


def next_version(folder: Path) -> str:
    """The version after the highest `vN` in `folder` ("v1" for none)."""
    return f"v{max(version_numbers(folder), default=0) + 1}"


def publish_folder(folder: Path, version: str, fill: Callable[[Path], None]) -> Path:
    """`folder/version`, appearing all at once: `fill(tmp)` creates and writes a `.tmp-*`
    folder beside the versions, which is fsynced and renamed (removed when `fill`
    raises)."""
    final = folder / version
    tmp = folder / f".tmp-{uuid.uuid4().hex}"
    try:
        fill(tmp)
        fsync_tree(tmp)
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    fsync_dir(folder)
    return final


def write_current(folder: Path, version: str) -> None:
    """Point `folder/current` at `version`, atomically and durably."""
    tmp = folder / f".{CURRENT_FILE}.{uuid.uuid4().hex}"
    with tmp.open("w", encoding="utf-8") as out:
        out.write(version + "\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, folder / CURRENT_FILE)
    fsync_dir(folder)


def fsync_tree(folder: Path) -> None:
    """fsync every file and folder under `folder` (and `folder` itself)."""
    for dirpath, _, filenames in os.walk(folder):
        for filename in filenames:
            fd = os.open(os.path.join(dirpath, filename), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(Path(dirpath))


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
