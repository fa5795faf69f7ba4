"""Build the MCP server (the SDK's `MCPServer`) from an open index: a factory, no globals.

The SDK runs these sync tools on worker threads; one lock keeps index reads one at a
time, as the index is shared by every call.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from mochi.rag.prompting.retrieved import ContextBuilder
from mochi.server.mcp import tools
from mochi.server.mcp.tools import CodeIndex, ContextSettings
from mochi.server.mcp.workspace_files import ToolInputError

STATUS_URI = "mochi://index/status"
INSTRUCTIONS = (
    "mochi's index of one repository: hybrid (dense + BM25) search over its code, docs "
    "and commits, the cross-file context mochi's completion model sees at a cursor, and "
    "what a hover says about a symbol. Paths are relative to the workspace root; lines "
    "and columns are 1-based."
)
T = TypeVar("T")


def build_app(index: CodeIndex, settings: ContextSettings) -> MCPServer[Any]:
    app: MCPServer[Any] = MCPServer(name="mochi", instructions=INSTRUCTIONS, log_level="WARNING")
    builder = ContextBuilder(index.retriever, settings.retrieval_k)
    guard = threading.Lock()

    def answer(fn: Callable[[], T]) -> T:
        with guard:
            try:
                return fn()
            except ToolInputError as exc:
                raise ToolError(str(exc)) from None

    @app.tool()
    def search_code(
        query: str,
        limit: int = 10,
        path_glob: str = "",
        exclude_tests: bool = False,
        mode: Literal["hybrid", "dense", "sparse"] = "hybrid",
    ) -> str:
        """Search the repository's index (code, docs, commit messages) for a question or
        code; ranked `path:line symbol` hits, each with its first lines.
        path_glob keeps only matching paths (e.g. 'src/**/*.py')."""
        return answer(
            lambda: tools.search_code(index, query, limit, path_glob, exclude_tests, mode)
        )

    @app.tool()
    def context_for(path: str = "", line: int = 0, column: int = 0, task: str = "") -> str:
        """The related code from other files that mochi's completion model is shown at a
        cursor (path, 1-based line, 1-based column; column 0 = end of line), or for a
        task described in words (task). Give path+line or task."""
        return answer(lambda: tools.context_for(index, builder, settings, path, line, column, task))

    @app.tool()
    def explain_symbol(name: str, path: str = "", line: int = 0) -> str:
        """A function, method or class by name: its definition (path:line and code, with
        its docstring) and where it is used. Give path and line of a use to resolve the
        name as that file sees it (its imports, the enclosing class for self.name)."""
        return answer(lambda: tools.explain_symbol(index, name, path, line))

    @app.resource(STATUS_URI, name="index_status", mime_type="application/json")
    def index_status() -> str:
        """The index: root, location, back end, embedding model, documents, chunks."""
        with guard:
            return json.dumps(tools.index_status(index), indent=2)

    return app
