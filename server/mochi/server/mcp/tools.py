"""What the MCP tools answer, free of the SDK: plain functions over the index.

Lines are 1-based and columns 1-based in arguments and answers, as agents read
`path:line`; the LSP-side code they reuse counts from 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

from mochi.rag.index.workspace import IndexStatus
from mochi.rag.languages import classify
from mochi.rag.prompting import select_snippets
from mochi.rag.prompting.context import format_context
from mochi.rag.prompting.retrieved import ContextBuilder
from mochi.rag.prompting.window import split_at
from mochi.rag.protocols import Retriever
from mochi.rag.retrieval.hybrid import Mode
from mochi.rag.types import Hit, SearchFilters
from mochi.server.assist.code_units import Word
from mochi.server.assist.hover_info import IndexSearch, Origin, hover_facts, render_markdown
from mochi.server.mcp.workspace_files import ToolInputError, workspace_file

SNIPPET_LINES = 12


class CodeIndex(IndexSearch, Protocol):
    """What the tools need of a workspace index (a `WorkspaceIndex` is one)."""

    @property
    def root(self) -> Path: ...

    @property
    def retriever(self) -> Retriever: ...

    def status(self) -> IndexStatus: ...


@dataclass(frozen=True, slots=True)
class ContextSettings:
    """The completion settings that shape the context block (`[completion]` in config)."""

    context_tokens: int
    retrieval_k: int
    count_tokens: Callable[[str], int]


def format_hits(hits: list[Hit]) -> str:
    blocks: list[str] = []
    for rank, hit in enumerate(hits, start=1):
        label = f" {hit.symbol}" if hit.symbol else ""
        head = f"{rank}. {hit.path}:{hit.start_line}{label}  [{hit.kind}, {hit.score:.3f}]"
        lines = hit.text.rstrip().split("\n")[:SNIPPET_LINES]
        blocks.append("\n".join([head, *("    " + ln for ln in lines)]))
    return "\n\n".join(blocks)


def search_code(
    index: CodeIndex,
    query: str,
    limit: int = 10,
    path_glob: str = "",
    exclude_tests: bool = False,
    mode: Mode = "hybrid",
) -> str:
    if not query.strip():
        raise ToolInputError("query is empty")
    if limit <= 0:
        raise ToolInputError("limit must be a positive number")
    filters = SearchFilters(path_glob=path_glob, exclude_tests=exclude_tests)
    hits = index.search(query, limit, filters, mode)
    return format_hits(hits) if hits else "no hits"


def context_for(
    index: CodeIndex,
    builder: ContextBuilder,
    settings: ContextSettings,
    path: str = "",
    line: int = 0,
    column: int = 0,
    task: str = "",
) -> str:
    """The context block the completion engine would put before the code at a cursor
    (`path`, `line`, `column`; column 0 is the end of the line), or for a task described
    in words: the same retrieval and the same token budget."""
    if bool(path) == bool(task.strip()):
        raise ToolInputError("give either path (with line and column) or task, not both")
    if path:
        if line <= 0:
            raise ToolInputError("line must be a positive (1-based) line number")
        rel, text = workspace_file(index.root, path)
        lines = text.split("\n")
        if line > len(lines):
            raise ToolInputError(f"{rel} has {len(lines)} lines, not {line}")
        character = len(lines[line - 1]) if column <= 0 else column - 1
        prefix, _ = split_at(text, line - 1, character)
        language, _ = classify(rel)
        where = f"{rel}:{line}:{character + 1}"
    else:
        rel, prefix, language, where = "", task.strip() + "\n", "", "this task"
    if settings.context_tokens <= 0:
        return "cross-file context is off (completion.context_tokens = 0)"
    candidates = builder.snippets(rel, prefix)
    snippets = select_snippets(candidates, settings.context_tokens, settings.count_tokens, language)
    if not snippets:
        return f"no related code in the index for {where}"
    found = ", ".join(f"{s.path}:{s.start_line}" for s in snippets)
    head = f"The context mochi's completion model is shown for {where} ({found}):\n\n"
    return head + format_context(snippets, language)


def explain_symbol(index: CodeIndex, name: str, path: str = "", line: int = 0) -> str:
    """What a hover on `name` says: its definition (seen from `path`:`line` when given,
    else anywhere in the index), docs and usages."""
    qualifier, _, bare = name.strip().rpartition(".")
    if not bare.isidentifier():
        raise ToolInputError(f"{name!r} is not a name")
    origin = None
    if path:
        rel, text = workspace_file(index.root, path)
        origin = Origin(rel, text, max(line - 1, 0))
    facts = hover_facts(index, Word(bare, qualifier), origin=origin)
    return render_markdown(facts) or f"no definition or usage of `{name}` in the index"


def index_status(index: CodeIndex) -> dict[str, object]:
    return asdict(index.status())


def format_answer(result: dict[str, object]) -> str:
    """`ask`'s answer for an agent: the text (its citations read `[path:line]`), then the
    sources it was given, and which of them each citation came from."""
    sources = result.get("sources")
    rows = []
    for source in sources if isinstance(sources, list) else []:
        if isinstance(source, dict):
            label = f" {source['symbol']}" if source.get("symbol") else ""
            span = f"{source['path']}:{source['startLine']}-{source['endLine']}"
            rows.append(f"[{source['number']}] {span}{label}")
    answer = str(result.get("answer") or "").strip() or "(no answer)"
    model = result.get("model") or "the configured LLM"
    listed = "\n".join(rows) if rows else "(none)"
    return f"{answer}\n\nAnswered by {model} from these sources:\n{listed}"
