"""Where a completion ends: stop strings, shared by the server's back ends and the
trainer's evaluation so both cut a suggestion the same way."""

from __future__ import annotations

from collections.abc import Sequence


def at_line_start(prefix: str) -> bool:
    """True when only whitespace precedes the cursor on its line."""
    return not prefix.rsplit("\n", 1)[-1].strip()


def find_stop(
    text: str, stops: Sequence[str], *, skip_leading_newlines: bool = False
) -> int | None:
    """Where the earliest stop string starts in `text`; None when none occurs.

    With `skip_leading_newlines`, stops are only looked for after the newlines the text
    opens with: at the start of an empty line a model often begins with a newline, and
    stopping there would leave nothing to suggest.
    """
    start = len(text) - len(text.lstrip("\n")) if skip_leading_newlines else 0
    hits = [index for stop in stops if stop and (index := text.find(stop, start)) >= 0]
    return min(hits) if hits else None


def drop_opening_newlines(text: str, prefix: str) -> str:
    """At the start of a line, the newlines a completion opens with (kept by
    `skip_leading_newlines`) and the indentation the cursor's line already has."""
    current_line = prefix.rsplit("\n", 1)[-1]
    if current_line.strip() or not text.startswith("\n"):
        return text
    return text.lstrip("\n").removeprefix(current_line)
