"""Generation back ends behind the `Generator` protocol."""

from mochi.server.generation.types import (
    BackendHealth,
    BackendState,
    CancelToken,
    GenerationCancelled,
    GenerationError,
    GenerationRequest,
    GenerationResult,
    Generator,
    ModelInfo,
)

__all__ = [
    "BackendHealth",
    "BackendState",
    "CancelToken",
    "GenerationCancelled",
    "GenerationError",
    "GenerationRequest",
    "GenerationResult",
    "Generator",
    "ModelInfo",
]
