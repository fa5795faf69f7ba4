"""What the repository usually writes on a line: the model's greedy completion of the
line from the file above it (and the line's indentation)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from mochi.server.assist.conventions.surprise import judged
from mochi.server.generation.types import CancelToken, GenerationRequest, GenerationResult


@runtime_checkable
class Completer(Protocol):
    """The part of a Generator a suggestion needs."""

    def generate(self, request: GenerationRequest, cancel: CancelToken) -> GenerationResult: ...


def completer_of(scorer: object) -> Completer | None:
    return scorer if isinstance(scorer, Completer) else None


def greedy_line(
    completer: Completer,
    text: str,
    line: int,
    *,
    adapter: str | None,
    cancel: CancelToken,
    max_tokens: int = 48,
    prompt_chars: int = 6000,
) -> str | None:
    """The model's own line `line` of `text`, without indentation (it replaces the line
    after its indentation): the first line of code in its greedy completion of the file
    above; None when it writes no code or what is there."""
    lines = text.split("\n")
    current = lines[line]
    if line == 0:
        return None  # nothing above the first line to complete from
    # The prompt ends at the line break: the model writes the indentation too (a prompt
    # ending in spaces splits a token the model would have used, and it answers "\n").
    prompt = "\n".join(lines[:line]) + "\n"
    if len(prompt) > prompt_chars:
        cut = prompt.find("\n", len(prompt) - prompt_chars)
        prompt = prompt[cut + 1 :] if 0 <= cut < len(prompt) - 1 else prompt[-prompt_chars:]
    request = GenerationRequest(prompt, max_tokens=max_tokens, adapter=adapter)
    result = completer.generate(request, cancel)
    # The first line of code it writes (a comment or a blank line is not an answer).
    written = next((ln.strip() for ln in result.text.split("\n") if judged(ln)), "")
    if not written or written == current.strip():
        return None
    return written
