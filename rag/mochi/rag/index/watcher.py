"""Re-index on file changes: watchdog events, debounced, one sync at a time."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

# Changes under these folders never concern the index (the git history source
# is refreshed by the events on .git/HEAD and .git/refs instead).
_IGNORED_PARTS = frozenset({"__pycache__", "node_modules", ".mypy_cache", ".ruff_cache"})


def is_relevant(root: Path, path: str) -> bool:
    """Whether a change at `path` (as the observer reports it, under the resolved
    `root`) concerns the index. A link is a change of its own: its target is not
    looked at (the sync skips a link out of the workspace)."""
    try:
        rel = Path(os.path.abspath(path)).relative_to(root)
    except ValueError:
        return False
    parts = rel.parts
    if not parts or _IGNORED_PARTS.intersection(parts):
        return False
    if parts[0] == ".git":
        return len(parts) >= 2 and (parts[1] == "HEAD" or parts[1] == "refs")
    return True


class DebouncedRunner:
    """Calls `action` once the triggers have been quiet for `delay` seconds.

    A trigger during a run schedules exactly one more run afterwards. Runs
    happen on one worker thread, so `action` never overlaps itself.
    """

    def __init__(self, action: Callable[[], None], delay: float) -> None:
        self._action = action
        self._delay = delay
        self._cond = threading.Condition()
        self._due: float | None = None
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name="mochi-reindex", daemon=True)
        self.runs = 0

    def start(self) -> None:
        self._thread.start()

    def trigger(self) -> None:
        import time

        with self._cond:
            self._due = time.monotonic() + self._delay
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        import time

        while True:
            with self._cond:
                while not self._stopped and (self._due is None or time.monotonic() < self._due):
                    timeout = None if self._due is None else self._due - time.monotonic()
                    self._cond.wait(timeout)
                if self._stopped:
                    return
                self._due = None
            try:
                self._action()
            except Exception:
                log.exception("re-index after a file change failed")
            self.runs += 1


class IndexWatcher:
    """Watches `root` and runs `on_change` (debounced) when relevant files change."""

    def __init__(self, root: Path, on_change: Callable[[], None], debounce_ms: int = 75) -> None:
        self.root = root.resolve()
        self.runner = DebouncedRunner(on_change, debounce_ms / 1000)
        self._observer: object | None = None

    def start(self) -> None:
        from watchdog.events import FileSystemEvent, FileSystemEventHandler
        from watchdog.observers import Observer

        watcher = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                if event.event_type in ("opened", "closed_no_write"):
                    return
                paths = [str(event.src_path)]
                dest = getattr(event, "dest_path", "")
                if dest:
                    paths.append(str(dest))
                if any(is_relevant(watcher.root, p) for p in paths):
                    watcher.runner.trigger()

        observer = Observer()
        observer.schedule(Handler(), str(self.root), recursive=True)
        observer.daemon = True
        observer.start()
        self._observer = observer
        self.runner.start()

    def stop(self) -> None:
        observer = self._observer
        if observer is not None:
            observer.stop()  # type: ignore[attr-defined]
            observer.join(timeout=10)  # type: ignore[attr-defined]
            self._observer = None
        self.runner.stop()
