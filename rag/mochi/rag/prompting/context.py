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


MIN_SNIPPET_TOKENS = 32


def _head(
    snippet: ContextSnippet, budget: int, count_tokens: Callable[[str], int]
) -> ContextSnippet:
    """The snippet's first lines that fit `budget` (the signature and docs come first)."""
    kept: list[str] = []
    used = count_tokens(f"# {snippet.path}:{snippet.start_line} ({snippet.symbol})") + 1
    for line in snippet.text.split("\n"):
        cost = count_tokens(line) + 1
        if used + cost > budget:
            break
        kept.append(line)
        used += cost
    return ContextSnippet(snippet.path, snippet.start_line, "\n".join(kept), snippet.symbol)


def select_snippets(
    candidates: Sequence[ContextSnippet],
    budget_tokens: int,
    count_tokens: Callable[[str], int],
    language: str,
) -> list[ContextSnippet]:
    """Best-first candidates within the token budget; one that does not fit whole is cut
    to its head (signature first) when at least MIN_SNIPPET_TOKENS remain."""
    chosen: list[ContextSnippet] = []
    used = count_tokens(format_context([], language)) + 16  # the frame's lines
    for snippet in candidates:
        cost = sum(count_tokens(line) + 1 for line in render_snippet(snippet, language).split("\n"))
        if used + cost > budget_tokens:
            room = budget_tokens - used
            if room < MIN_SNIPPET_TOKENS:
                break
            snippet = _head(snippet, room, count_tokens)
            if not snippet.text.strip():
                continue
            cost = room
        chosen.append(snippet)
        used += cost
    return chosen
