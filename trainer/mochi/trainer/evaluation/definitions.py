"""Names a repository defines (functions, methods, classes), per file: the API subset asks
whether a line calls one that is defined in another file."""

from __future__ import annotations

import re
from collections.abc import Mapping

_DEFINITION = re.compile(
    r"\b(?:def|class|function|func|fn|struct|interface|trait)\s+([A-Za-z_][A-Za-z0-9_]*)"
)
_CALL = re.compile(r"(?<![A-Za-z0-9_])([A-Za-z_][A-Za-z0-9_]*)\s*\(")
_DEFINING = re.compile(r"\b(?:def|class|function|func|fn)\s+$")


def defined_names(text: str) -> set[str]:
    """Names defined in one file (dunder names left out: `__init__` is everyone's)."""
    return {
        name
        for name in _DEFINITION.findall(text)
        if not (name.startswith("__") and name.endswith("__"))
    }


def definition_index(files: Mapping[str, str]) -> dict[str, frozenset[str]]:
    """name -> the files that define it."""
    index: dict[str, set[str]] = {}
    for path, text in files.items():
        for name in defined_names(text):
            index.setdefault(name, set()).add(path)
    return {name: frozenset(paths) for name, paths in index.items()}


def called_names(line: str) -> list[str]:
    """Names called on a line: `name(` or `.name(`, not the name a `def` introduces."""
    return [m.group(1) for m in _CALL.finditer(line) if not _DEFINING.search(line[: m.start()])]


def api_calls(line: str, path: str, index: Mapping[str, frozenset[str]]) -> tuple[str, ...]:
    """The names `line` calls that a file other than `path` defines, first occurrence order."""
    found = [name for name in called_names(line) if index.get(name, frozenset()) - {path}]
    return tuple(dict.fromkeys(found))
