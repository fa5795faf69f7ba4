"""Which part of the current file goes into the prompt (the server's completions and the
trainer's evaluation cut it the same way).

The prefix window starts at a line boundary that only moves in steps of
`STEP_LINES`, so while the user types, the prompt's beginning stays identical
and the back end can reuse its KV cache for it. Token counts are summed per
line (`count_line` is expected to be memoised), so a keystroke costs one line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

STEP_LINES = 32


@dataclass(frozen=True, slots=True)
class FileWindow:
    prefix: str
    suffix: str


def split_at(text: str, line: int, character: int) -> tuple[str, str]:
    """Split a document at an LSP position (UTF-16 columns are treated as code points)."""
    lines = text.split("\n")
    line = max(0, min(line, len(lines) - 1)) if lines else 0
    column = max(0, min(character, len(lines[line]))) if lines else 0
    offset = sum(len(ln) + 1 for ln in lines[:line]) + column
    return text[:offset], text[offset:]


def window(
    prefix: str,
    suffix: str,
    budget_tokens: int,
    count_line: Callable[[str], int],
    suffix_share: float = 0.25,
) -> FileWindow:
    prefix_budget = int(budget_tokens * (1 - suffix_share))
    suffix_budget = budget_tokens - prefix_budget
    lines = prefix.split("\n")
    costs = [count_line(ln) + 1 for ln in lines]
    remaining = sum(costs)
    start = 0
    while start < len(lines) - 1 and remaining > prefix_budget:
        step = min(STEP_LINES, len(lines) - 1 - start)
        remaining -= sum(costs[start : start + step])
        start += step
    after = suffix.split("\n")
    end, used = 0, 0
    while end < len(after) and used + count_line(after[end]) + 1 <= suffix_budget:
        used += count_line(after[end]) + 1
        end += 1
    return FileWindow("\n".join(lines[start:]), "\n".join(after[: max(end, 1)]))
