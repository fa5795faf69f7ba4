"""Reading a file an agent names: inside the workspace, or an error that says why not."""

from __future__ import annotations

from pathlib import Path

from mochi.rag.paths import inside_workspace


class ToolInputError(ValueError):
    """An argument a tool cannot use; its message is meant for the agent."""


def workspace_file(root: Path, path: str) -> tuple[str, str]:
    """The path relative to `root` (as the index names it) and the file's text."""
    base = root.resolve()
    if not inside_workspace(base, base / path):  # the readers' shared check: no link leads out
        raise ToolInputError(f"{path} is outside the workspace {base}")
    target = (base / path).resolve()
    if not target.is_file():
        raise ToolInputError(f"{path} is not a file in the workspace {base}")
    try:
        text = target.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ToolInputError(f"cannot read {path}: {exc.strerror}") from None
    return target.relative_to(base).as_posix(), text
