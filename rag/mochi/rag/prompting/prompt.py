"""Assemble the completion prompt: context block, current file, FIM or prefix-only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mochi.rag.prompting.context import ContextSnippet, comment_prefix, format_context
from mochi.rag.prompting.fim import FIM_TEMPLATES


@dataclass(frozen=True, slots=True)
class CompletionPrompt:
    text: str
    stop: tuple[str, ...]
    uses_fim: bool


def build_prompt(
    *,
    prefix: str,
    suffix: str,
    path: str,
    language: str,
    snippets: Sequence[ContextSnippet] = (),
    fim_template: str | None = None,
) -> CompletionPrompt:
    """The prompt for completing at the boundary of `prefix` and `suffix`.

    The context block and a path line come first, so that while the user types
    in one place the start of the prompt stays the same (prefix-cache friendly).
    """
    head = format_context(snippets, language) + f"{comment_prefix(language)} {path}\n"
    template = FIM_TEMPLATES.get(fim_template or "")
    if template is not None and suffix.strip():
        return CompletionPrompt(template.render(head + prefix, suffix), template.stop, True)
    stop = template.stop if template is not None else ()
    return CompletionPrompt(head + prefix, stop, False)
