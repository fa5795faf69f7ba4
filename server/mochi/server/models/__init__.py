"""Local models: the store, GGUF import, hub downloads and the default model."""

from mochi.server.models.default_model import DEFAULT_MODEL_NAME, default_model, packaged_gguf
from mochi.server.models.errors import ModelExistsError, ModelStoreError, UnknownModelError
from mochi.server.models.store import ModelEntry, ModelStore

__all__ = [
    "DEFAULT_MODEL_NAME",
    "ModelEntry",
    "ModelExistsError",
    "ModelStore",
    "ModelStoreError",
    "UnknownModelError",
    "default_model",
    "packaged_gguf",
]
