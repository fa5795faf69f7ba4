"""Keeps secrets out of the index: files by name, chunks by content."""

from __future__ import annotations

import re
from collections.abc import Sequence

import pathspec

from mochi.rag.config.errors import ConfigError


class SecretFilter:
    def __init__(self, path_patterns: Sequence[str], content_patterns: Sequence[str]) -> None:
        self._paths = pathspec.PathSpec.from_lines("gitignore", path_patterns)
        compiled: list[re.Pattern[str]] = []
        for i, pattern in enumerate(content_patterns):
            try:
                compiled.append(re.compile(pattern))
            except re.error as exc:
                raise ConfigError(
                    f"secrets.patterns[{i}]", f"bad regex {pattern!r}: {exc}"
                ) from None
        self._content = compiled

    def is_secret_path(self, path: str) -> bool:
        return bool(self._paths.match_file(path))

    def find_secret(self, text: str) -> str | None:
        """The name of the first pattern that matches, or None."""
        for pattern in self._content:
            if pattern.search(text):
                return pattern.pattern
        return None
