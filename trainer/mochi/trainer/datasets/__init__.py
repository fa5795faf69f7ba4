"""Training datasets built from a git repository (see builder.build_dataset)."""

from mochi.trainer.datasets.builder import build_dataset, default_secret_filter
from mochi.trainer.datasets.errors import DatasetCancelled, DatasetError
from mochi.trainer.datasets.spec import (
    BuiltDataset,
    ContextSource,
    DatasetCard,
    DatasetSpec,
    TokenStats,
)
from mochi.trainer.datasets.storage import load_dataset, save_dataset

__all__ = [
    "BuiltDataset",
    "ContextSource",
    "DatasetCancelled",
    "DatasetCard",
    "DatasetError",
    "DatasetSpec",
    "TokenStats",
    "build_dataset",
    "default_secret_filter",
    "load_dataset",
    "save_dataset",
]
