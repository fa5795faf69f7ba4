"""The whole mochi configuration tree (the index part lives in mochi.rag.config)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mochi.rag.config import RagConfig, load_workspace_config


@dataclass
class MochiConfig(RagConfig):
    """Later sections (server, model, trainer) are added here as fields."""


def load_config(
    root: Path,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> MochiConfig:
    env = os.environ if environ is None else environ
    return load_workspace_config(MochiConfig, root, environ=env, overrides=overrides)
