"""Which module a name used in a Python file comes from, read from the file's imports.

Plain text matching (the file may be half-edited and not parse): `from M import x [as y]`,
`from M import (a, b)`, `import M [as y]`, relative imports included.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

_FROM = re.compile(
    r"^[ \t]*from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]+)", re.MULTILINE
)
_IMPORT = re.compile(r"^[ \t]*import[ \t]+([^\n#;]+)", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class ImportedName:
    module: str  # dotted, with leading dots for a relative import
    name: str  # the name inside that module


def _items(clause: str) -> list[tuple[str, str]]:
    """(name imported, name it is bound to) for each item of an import clause; for a
    plain `import a.b` the bound name is the whole `a.b`, as code uses it."""
    pairs = []
    for item in clause.replace("\\\n", " ").strip("() \t\n").split(","):
        words = item.split()
        if len(words) == 3 and words[1] == "as":
            pairs.append((words[0], words[2]))
        elif len(words) == 1:
            pairs.append((words[0], words[0]))
    return pairs


def imported_name(text: str, name: str, qualifier: str = "") -> ImportedName | None:
    """Where `qualifier.name` (or a bare `name`) used in `text` is defined, by its imports."""
    for match in _FROM.finditer(text):
        module = match.group(1)
        for imported, bound in _items(match.group(2)):
            if not qualifier and bound == name:
                return ImportedName(module, imported)
            if qualifier and qualifier == bound:  # `from pkg import mod` ... `mod.name`
                return ImportedName(_join(module, imported), name)
    if qualifier:
        for match in _IMPORT.finditer(text):
            for imported, bound in _items(match.group(1)):
                if qualifier == bound:
                    return ImportedName(imported, name)
    return None


def _join(module: str, name: str) -> str:
    return module + name if module.endswith(".") else f"{module}.{name}"


def module_paths(module: str, importer: str) -> list[str]:
    """Workspace paths that may hold `module`, imported from the file `importer`."""
    dots = len(module) - len(module.lstrip("."))
    parts = [p for p in module[dots:].split(".") if p]
    if dots:
        base = PurePosixPath(importer).parent
        for _ in range(dots - 1):
            base = base.parent
        parts = [p for p in base.parts if p not in ("", ".")] + parts
        roots = [""]
    else:
        roots = ["", "src/"]
    if not parts:
        return []
    stem = "/".join(parts)
    return [f"{root}{stem}{tail}" for root in roots for tail in (".py", "/__init__.py")]
