"""Which added lines are worth completing: not blank, not only a comment or punctuation,
not a verbatim copy of another line of the file, not absurdly long."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

_WORD = re.compile(r"\w")
_HASH_COMMENT = ("python", "ruby", "bash", "toml", "yaml")
_DASH_COMMENT = ("sql", "lua")


def comment_markers(language: str) -> tuple[str, ...]:
    if language in _HASH_COMMENT:
        return ("#",)
    if language in _DASH_COMMENT:
        return ("--",)
    return ("//", "/*", "*")


class LineFilter:
    """Decides for the lines of one file (the file as the commit left it)."""

    def __init__(self, lines: Sequence[str], language: str, max_line_chars: int = 240) -> None:
        self._lines = lines
        self._markers = comment_markers(language)
        self._max_chars = max_line_chars
        self._counts = Counter(line.strip() for line in lines)

    def worth_completing(self, index: int) -> bool:
        """`index` is 0-based."""
        line = self._lines[index]
        text = line.strip()
        if not text or len(line) > self._max_chars:
            return False
        if text.startswith(self._markers):
            return False
        if not _WORD.search(text):  # only punctuation: `)`, `]:`, `"""`
            return False
        return self._counts[text] == 1  # a copy of another line is no test of the model
