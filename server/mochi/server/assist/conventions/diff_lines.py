"""Which lines a unified diff adds (new-file numbering) and removes (old-file numbering)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_HUNK = re.compile(r"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


@dataclass
class DiffLines:
    added: dict[str, set[int]] = field(default_factory=dict)  # new path -> 0-based lines
    removed: dict[str, set[int]] = field(default_factory=dict)  # old path -> 0-based lines


def _path(header: str) -> str | None:
    name = header.split("\t", 1)[0].strip()
    if name == "/dev/null":
        return None
    if name.startswith('"') and name.endswith('"'):
        name = name[1:-1]
    return name[2:] if name.startswith(("a/", "b/")) else name


def parse_diff(diff: str) -> DiffLines:
    """Parse `diff -u` / `git diff` output (any context size, -U0 included)."""
    out = DiffLines()
    old_path: str | None = None
    new_path: str | None = None
    old_line = new_line = 0
    in_hunk = False
    for raw in diff.splitlines():
        if raw.startswith("--- ") and not in_hunk:
            old_path = _path(raw[4:])
            continue
        if raw.startswith("+++ ") and not in_hunk:
            new_path = _path(raw[4:])
            continue
        if raw.startswith("diff ") or raw.startswith("index "):
            in_hunk = False
            continue
        match = _HUNK.match(raw)
        if match is not None:
            old_line = int(match.group(1)) - (0 if match.group(2) == "0" else 1)
            new_line = int(match.group(3)) - (0 if match.group(4) == "0" else 1)
            old_left = int(match.group(2) or 1)
            new_left = int(match.group(4) or 1)
            in_hunk = old_left > 0 or new_left > 0
            continue
        if not in_hunk or raw.startswith("\\"):
            continue
        if raw.startswith("+"):
            if new_path is not None:
                out.added.setdefault(new_path, set()).add(new_line)
            new_line += 1
            new_left -= 1
        elif raw.startswith("-"):
            if old_path is not None:
                out.removed.setdefault(old_path, set()).add(old_line)
            old_line += 1
            old_left -= 1
        else:
            old_line += 1
            new_line += 1
            old_left -= 1
            new_left -= 1
        if old_left <= 0 and new_left <= 0:
            in_hunk = False
    return out


def added_lines(diff: str) -> dict[str, set[int]]:
    return parse_diff(diff).added
