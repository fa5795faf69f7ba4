"""Reading a file an agent names: inside the workspace, or an error that says why not."""

from __future__ import annotations

from pathlib import Path

from mochi.rag.config.schema import IndexConfig
from mochi.rag.paths import inside_workspace
from mochi.rag.secrets import SecretFilter, secret_filter

# What an agent may have read, as the index reads: its default size limit and secrets.
MAX_FILE_BYTES = IndexConfig().max_file_bytes


class ToolInputError(ValueError):
    """An argument a tool cannot use; its message is meant for the agent."""


def workspace_file(
    root: Path, path: str, *, secrets: SecretFilter | None = None
) -> tuple[str, str]:
    """The path relative to `root` (as the index names it) and the file's text. Secret
    files (`.env`, keys: what `[secrets] paths` names; its defaults unless `secrets` is
    given) and files over the index's default size limit are refused, as the index
    leaves them out."""
    base = root.resolve()
    if not inside_workspace(base, base / path):  # the readers' shared check: no link leads out
        raise ToolInputError(f"{path} is outside the workspace {base}")
    target = (base / path).resolve()
    if not target.is_file():
        raise ToolInputError(f"{path} is not a file in the workspace {base}")
    rel = target.relative_to(base).as_posix()
    if (secrets or secret_filter()).is_secret_path(rel):
        raise ToolInputError(f"{rel} is a secret file (.env, keys): mochi does not read it")
    if target.stat().st_size > MAX_FILE_BYTES:
        raise ToolInputError(f"{rel} is larger than {MAX_FILE_BYTES} bytes: mochi skips it")
    try:
        text = target.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ToolInputError(f"cannot read {path}: {exc.strerror}") from None
    return rel, text
