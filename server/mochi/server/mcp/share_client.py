"""`mochi mcp`'s side of index sharing: a `ToolBackend` that forwards each tool call to
the running language server that holds the index (see `share_wire`)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from mochi.server.mcp.backend import Mode, ToolUnavailable
from mochi.server.mcp.conventions import ConventionReport
from mochi.server.mcp.ranking import Ranking
from mochi.server.mcp.share_request import ShareError, ShareRefusal, call, find_share
from mochi.server.mcp.share_wire import ShareInfo
from mochi.server.mcp.workspace_files import ToolInputError

__all__ = ["ShareError", "SharedBackend", "find_share", "request"]

log = logging.getLogger(__name__)
# Longer than the server waits for its own index and model threads, so that its answer
# (the result, or why not) comes back rather than a timeout here.
CALL_TIMEOUT_S = 400.0


def request(info: ShareInfo, method: str, params: dict[str, Any], timeout: float) -> Any:
    """One call over a fresh connection; ToolInputError / ToolUnavailable as answered."""
    try:
        return call(info, method, params, timeout)
    except ShareRefusal as refusal:
        if refusal.kind == "input":
            raise ToolInputError(refusal.message) from None
        message = refusal.message
        raise ToolUnavailable(
            message if refusal.kind != "bad_request" else f"bad request: {message}"
        ) from None


class SharedBackend:
    """The tools answered by the running language server (its live, watched index and its
    loaded model). A server that restarted is found again through the share file."""

    def __init__(self, file: Path, root: Path, info: ShareInfo) -> None:
        self._file = file
        self._root = root
        self._info = info
        self._lock = threading.Lock()

    @property
    def mode(self) -> str:
        return "shared"

    @property
    def server_pid(self) -> int:
        return self._info.pid

    def search_code(
        self, query: str, limit: int, path_glob: str, exclude_tests: bool, mode: Mode
    ) -> str:
        params = {"query": query, "limit": limit, "path_glob": path_glob}
        return str(
            self._call("search_code", {**params, "exclude_tests": exclude_tests, "mode": mode})
        )

    def context_for(self, path: str, line: int, column: int, task: str) -> str:
        params = {"path": path, "line": line, "column": column, "task": task}
        return str(self._call("context_for", params))

    def explain_symbol(self, name: str, path: str, line: int) -> str:
        return str(self._call("explain_symbol", {"name": name, "path": path, "line": line}))

    def rank_candidates(
        self, candidates: list[str], path: str, line: int, column: int, prefix: str
    ) -> Ranking:
        params = {"candidates": candidates, "path": path, "line": line, "column": column}
        data = self._call("rank_candidates", {**params, "prefix": prefix})
        return Ranking.from_dict(data)

    def check_conventions(self, path: str, diff: str) -> ConventionReport:
        data = self._call("check_conventions", {"path": path, "diff": diff})
        return ConventionReport.from_dict(data)

    def ask(self, question: str, max_sources: int) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            "ask", {"question": question, "max_sources": max_sources}
        )
        return result

    def index_status(self) -> dict[str, Any]:
        status = self._call("index_status", {})
        return {**status, "mode": "shared", "server_pid": self._info.pid}

    def close(self) -> None:
        return None

    def _call(self, method: str, params: dict[str, Any]) -> Any:
        with self._lock:
            info = self._info
        try:
            return request(info, method, params, CALL_TIMEOUT_S)
        except ShareError as exc:
            fresh = find_share(self._file, self._root)
            if fresh is None or fresh == info:
                raise ToolUnavailable(
                    f"the language server (pid {info.pid}) that shared this index does not "
                    f"answer ({exc}); restart mochi mcp"
                ) from None
        with self._lock:
            self._info = fresh
        log.info("the language server restarted (pid %d): using its share", fresh.pid)
        try:
            return request(fresh, method, params, CALL_TIMEOUT_S)
        except ShareError as exc:
            raise ToolUnavailable(str(exc)) from None
