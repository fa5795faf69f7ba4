"""Opening a workspace's config and index for a CLI command, with friendly errors."""

from __future__ import annotations

from pathlib import Path

from mochi.rag.config import ConfigError
from mochi.rag.embedding.dense import EmbeddingModelError
from mochi.rag.index import IndexLockedError, WorkspaceIndex, open_workspace_index
from mochi.server.cli.errors import CliError
from mochi.server.config import MochiConfig, load_config


def config_for(root: Path) -> MochiConfig:
    if not root.is_dir():
        raise CliError(f"{root} is not a folder")
    try:
        return load_config(root)
    except ConfigError as exc:
        raise CliError(f"bad configuration: {exc}") from None


def open_index(root: Path, *, rebuild: bool = False) -> WorkspaceIndex:
    config = config_for(root)
    try:
        return open_workspace_index(root, config, rebuild=rebuild)
    except IndexLockedError as exc:
        raise CliError(str(exc), exit_code=3) from None
    except EmbeddingModelError as exc:
        raise CliError(str(exc)) from None
    except ConfigError as exc:
        raise CliError(f"bad configuration: {exc}") from None
