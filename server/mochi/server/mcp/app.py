"""Build the MCP server (the SDK's `MCPServer`) over a `ToolBackend`: a factory, no globals.

The SDK runs these sync tools on worker threads; the backend decides where the work
runs (under one lock in `mochi mcp`'s own process, on the language server's index and
model threads when it shares its index).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent
from pydantic import BaseModel

from mochi.server.mcp.backend import ToolBackend, ToolUnavailable
from mochi.server.mcp.conventions import format_report
from mochi.server.mcp.ranking import format_ranking
from mochi.server.mcp.tools import format_answer
from mochi.server.mcp.workspace_files import ToolInputError

STATUS_URI = "mochi://index/status"
INSTRUCTIONS = (
    "mochi's index of one repository: hybrid (dense + BM25) search over its code, docs "
    "and commits, the cross-file context mochi's completion model sees at a cursor, what "
    "a hover says about a symbol, code candidates ranked by the repository-adapted "
    "model, and answers with path:line citations. Paths are relative to the workspace "
    "root; lines and columns are 1-based."
)
T = TypeVar("T")


class ScoredCandidate(BaseModel):
    index: int
    candidate: str
    mean_logprob: float
    total_logprob: float
    tokens: int


class RankedCandidates(BaseModel):
    """rank_candidates' structured output: best first."""

    where: str
    adapter: str | None
    scores: list[ScoredCandidate]


class ConventionFindingOut(BaseModel):
    path: str
    line: int
    column: int
    end_column: int
    kind: str
    message: str
    score: float
    suggestion: str | None


class ConventionsOut(BaseModel):
    """check_conventions' structured output."""

    checked: list[str]
    skipped: list[str]
    surprise: str
    adapters: dict[str, str | None]
    findings: list[ConventionFindingOut]


def text_and_data(text: str, data: BaseModel) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=data.model_dump(mode="json"),
    )


def answer(fn: Callable[[], T]) -> T:
    try:
        return fn()
    except (ToolInputError, ToolUnavailable) as exc:
        raise ToolError(str(exc)) from None


def build_app(backend: ToolBackend) -> MCPServer[Any]:
    app: MCPServer[Any] = MCPServer(name="mochi", instructions=INSTRUCTIONS, log_level="WARNING")

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
        return answer(lambda: backend.search_code(query, limit, path_glob, exclude_tests, mode))

    @app.tool()
    def context_for(path: str = "", line: int = 0, column: int = 0, task: str = "") -> str:
        """The related code from other files that mochi's completion model is shown at a
        cursor (path, 1-based line, 1-based column; column 0 = end of line), or for a
        task described in words (task). Give path+line or task."""
        return answer(lambda: backend.context_for(path, line, column, task))

    @app.tool()
    def explain_symbol(name: str, path: str = "", line: int = 0) -> str:
        """A function, method or class by name: its definition (path:line and code, with
        its docstring) and where it is used. Give path and line of a use to resolve the
        name as that file sees it (its imports, the enclosing class for self.name)."""
        return answer(lambda: backend.explain_symbol(name, path, line))

    @app.tool()
    def rank_candidates(
        candidates: list[str], path: str = "", line: int = 0, column: int = 0, prefix: str = ""
    ) -> Annotated[CallToolResult, RankedCandidates]:
        """Rank code candidates by how likely the repository-adapted model (the LoRA
        expert completions use for that file; the base model when none) finds each one
        right after a context: a cursor (path, 1-based line, 1-based column; column 0 =
        end of line) or a plain prefix text. Mean log-probability per token, best first
        (higher = more like this repository's code)."""
        ranking = answer(lambda: backend.rank_candidates(candidates, path, line, column, prefix))
        data = RankedCandidates.model_validate(ranking.as_dict())
        return text_and_data(format_ranking(ranking), data)

    @app.tool()
    def check_conventions(
        path: str = "", diff: str = ""
    ) -> Annotated[CallToolResult, ConventionsOut]:
        """Where code is unusual for this repository: a workspace file (path), or the
        lines a unified diff adds (diff, e.g. `git diff` output; the files are read from
        the working tree). Findings (1-based line:column): lines the repository-adapted
        model finds far more surprising than the repository's own code, with what it
        usually writes there, and names written unlike the repository's dominant style."""
        report = answer(lambda: backend.check_conventions(path, diff))
        data = ConventionsOut.model_validate(report.as_dict())
        return text_and_data(format_report(report), data)

    @app.tool()
    def ask(question: str, max_sources: int = 0) -> str:
        """A question about this repository answered from its index with citations: the
        best-matching code and docs (reranked) go to the LLM configured in `[ask]` (or
        the local model), and every claim of the answer cites `[path:line]` (marked
        'attributed' where the LLM gave none and mochi matched the claim to a source).
        max_sources: 0 = the configured number."""
        return answer(lambda: format_answer(backend.ask(question, max_sources)))

    @app.resource(STATUS_URI, name="index_status", mime_type="application/json")
    def index_status() -> str:
        """The index: mode (local: opened by this process; shared: the running language
        server's live index), root, location, back end, embedding model, documents,
        chunks, and the model the ranking tools use."""
        return json.dumps(backend.index_status(), indent=2)

    return app
