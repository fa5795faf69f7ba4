"""The part of the current file that goes into the prompt: the same cut as the server's
`mochi.server.completion.window.window` (copied: the trainer does not import the server).

The prefix keeps its last lines within 3/4 of the budget, dropping whole blocks of
`STEP_LINES` lines from the top; the suffix keeps its first lines within the rest.
"""

from __future__ import annotations

from collections.abc import Callable

STEP_LINES = 32


def window(
    prefix: str,
    suffix: str,
    budget_tokens: int,
    count_line: Callable[[str], int],
    suffix_share: float = 0.25,
) -> tuple[str, str]:
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
    return "\n".join(lines[start:]), "\n".join(after[: max(end, 1)])
