"""The adapter registry: `<data_dir>/adapters/<name>/<version>/` + a `current` pointer."""

from mochi.trainer.registry.base_model import BaseModelId, base_model_fingerprint, base_model_id
from mochi.trainer.registry.errors import BaseModelMismatch, RegistryError, UnknownAdapter
from mochi.trainer.registry.manifest import Manifest
from mochi.trainer.registry.store import AdapterRegistry

__all__ = [
    "AdapterRegistry",
    "BaseModelId",
    "BaseModelMismatch",
    "Manifest",
    "RegistryError",
    "UnknownAdapter",
    "base_model_fingerprint",
    "base_model_id",
]
