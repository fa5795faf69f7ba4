"""`CpuGenerator`: the default CPU path, llama.cpp for completions and transformers for
what only it can do.

Completions, the hot path (one per keystroke), go to `LlamaCppGenerator`: the model's
GGUF, decoded by llama.cpp several times faster per token than torch, with the token
memory (kNN-LM) mixed in when a request asks for it. Scoring (candidate ranking,
convention diagnostics) and making the memory's keys (the model's hidden states over the
repository's code) need the model's tensors, so they go to a `TransformersGenerator` on
the same model, loaded the first time one of them is asked for: a server that only
completes never loads torch's copy. The keys are the states llama.cpp queries with, up to
the rounding of its weights to the GGUF's type.
Both back ends get every LoRA expert, so the router's choice means the same on either.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from mochi.server.generation.llamacpp_backend import LlamaCppGenerator
from mochi.server.generation.scoring import ScoreRequest, TokenScores
from mochi.server.generation.token_memory import MemoryMix, ModelTokenEncoder
from mochi.server.generation.transformers_backend import TransformersGenerator
from mochi.server.generation.types import (
    BackendHealth,
    CancelToken,
    GenerationRequest,
    GenerationResult,
    ModelInfo,
)


class CpuGenerator:
    """Implements `Generator`, `Scorer` and the token memory's `MemoryBackend`."""

    def __init__(
        self,
        fast: LlamaCppGenerator,
        load_full: Callable[[dict[str, str]], TransformersGenerator],
        adapters: dict[str, str] | None = None,
    ) -> None:
        """`load_full(adapters)` builds the transformers generator with those adapters."""
        self._fast = fast
        self._load_full = load_full
        self._full: TransformersGenerator | None = None
        self._adapter_paths = dict(adapters or {})
        self._lock = threading.Lock()

    # -- Generator: llama.cpp ----------------------------------------------------------

    def info(self) -> ModelInfo:
        return self._fast.info()

    def generate(self, request: GenerationRequest, cancel: CancelToken) -> GenerationResult:
        return self._fast.generate(request, cancel)

    def count_tokens(self, text: str) -> int:
        return self._fast.count_tokens(text)

    def load_adapter(self, name: str, path: str) -> None:
        self._fast.load_adapter(name, path)
        with self._lock:
            self._adapter_paths[name] = path
            full = self._full
        if full is not None:
            full.load_adapter(name, path)

    def adapters(self) -> list[str]:
        return self._fast.adapters()

    def health(self) -> BackendHealth:
        fast = self._fast.health()
        extra = {**fast.extra, "memory_tokens": str(self.memory_size())}
        return BackendHealth(fast.state, fast.detail, extra)

    def close(self) -> None:
        self._fast.close()
        with self._lock:
            full, self._full = self._full, None
        if full is not None:
            full.close()

    # -- Scorer and the memory's keys: transformers, loaded on first use -----------------

    def full(self) -> TransformersGenerator:
        with self._lock:
            if self._full is None:
                self._full = self._load_full(dict(self._adapter_paths))
            return self._full

    def score(self, request: ScoreRequest, cancel: CancelToken) -> TokenScores:
        return self.full().score(request, cancel)

    def token_encoder(self, window: int = 1024, adapter: str | None = None) -> ModelTokenEncoder:
        return self.full().token_encoder(window, adapter)

    # -- the token memory: keys from transformers, mixed in by llama.cpp -----------------

    def use_memory(self, memory: MemoryMix | None, adapter: str | None = None) -> None:
        self._fast.use_memory(memory, adapter)

    def current_memory(self, adapter: str | None = None) -> MemoryMix | None:
        return self._fast.current_memory(adapter)

    def memory_size(self) -> int:
        return self._fast.memory_size()
