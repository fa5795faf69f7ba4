"""Cross-file context: retrieved snippets rendered as comments above the code."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

_LINE_COMMENT: dict[str, str] = {
    "python": "#",
    "ruby": "#",
    "bash": "#",
    "toml": "#",
    "yaml": "#",
    "sql": "--",
    "lua": "--",
}


def comment_prefix(language: str) -> str:
    return _LINE_COMMENT.get(language, "//")


@dataclass(frozen=True, slots=True)
class ContextSnippet:
    path: str
    start_line: int
    text: str
    symbol: str = ""


def render_snippet(snippet: ContextSnippet, language: str) -> str:
    mark = comment_prefix(language)
    header = f"{mark} {snippet.path}:{snippet.start_line}"
    if snippet.symbol:
        header += f" ({snippet.symbol})"
    return f"{header}\n{snippet.text.rstrip()}\n"


def format_context(snippets: Sequence[ContextSnippet], language: str) -> str:
    """The block placed before the current file; empty when there is no context."""
    if not snippets:
        return ""
    mark = comment_prefix(language)
    body = "\n".join(render_snippet(s, language) for s in snippets)
    return f"{mark} Related code from this repository:\n{body}{mark} End of related code.\n\n"


def select_snippets(
    candidates: Sequence[ContextSnippet],
    budget_tokens: int,
    count_tokens: Callable[[str], int],
    language: str,
) -> list[ContextSnippet]:
    """The best-first candidates that fit the token budget (a snippet is never cut)."""
    chosen: list[ContextSnippet] = []
    used = count_tokens(format_context([], language)) + 16  # the frame's lines
    for snippet in candidates:
        cost = count_tokens(render_snippet(snippet, language))
        if used + cost > budget_tokens:
            continue
        chosen.append(snippet)
        used += cost
    return chosen
