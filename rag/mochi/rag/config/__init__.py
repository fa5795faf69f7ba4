"""Typed, fully defaulted configuration: schema, loader, errors."""

from mochi.rag.config.errors import ConfigError
from mochi.rag.config.loader import build_config, load_workspace_config
from mochi.rag.config.schema import (
    EmbeddingConfig,
    IndexConfig,
    RagConfig,
    RetrievalConfig,
    SecretsConfig,
    StoreConfig,
)

__all__ = [
    "ConfigError",
    "EmbeddingConfig",
    "IndexConfig",
    "RagConfig",
    "RetrievalConfig",
    "SecretsConfig",
    "StoreConfig",
    "build_config",
    "load_workspace_config",
]
