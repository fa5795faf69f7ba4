"""Build (or bring up to date) a workspace's token memory with the generator's model, and
make the mix that decoding uses. Shared by the language server (the memory of the open
workspace, kept current as the index is) and `mochi eval` (the memory at the cut)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol, runtime_checkable

from mochi.rag.config import RagConfig
from mochi.rag.memory import MemoryReport, MemoryStore, TokenNeighbours, sync_memory
from mochi.rag.memory.sync import TokenEncoder
from mochi.rag.secrets import secret_filter
from mochi.rag.sources import WorkspaceSource
from mochi.rag.types import ProgressCallback
from mochi.server.config import MemoryConfig
from mochi.server.generation.token_memory import MemoryMix
from mochi.server.generation.types import GenerationError, Generator


@runtime_checkable
class MemoryBackend(Protocol):
    """A generator that can read a memory's keys and mix one into decoding: the base
    model's memory, or one per adapter (its states with the adapter on)."""

    def token_encoder(self, window: int = 1024, adapter: str | None = None) -> TokenEncoder: ...

    def use_memory(self, memory: MemoryMix | None, adapter: str | None = None) -> None: ...

    def current_memory(self, adapter: str | None = None) -> MemoryMix | None: ...


def memory_backend(generator: Generator) -> MemoryBackend:
    if not isinstance(generator, MemoryBackend):
        raise GenerationError(
            f"the token memory needs the transformers back end, not {generator.info().backend}"
        )
    return generator


def workspace_source(root: Path, rag: RagConfig) -> WorkspaceSource:
    """The index's source of workspace files (same ignores and limits), without PDFs."""
    return WorkspaceSource(
        root,
        max_file_bytes=rag.index.max_file_bytes,
        extra_ignores=[*rag.index.ignore, "*.pdf"],
    )


def build_memory(
    generator: Generator,
    root: Path,
    folder: Path,
    config: MemoryConfig,
    *,
    rag: RagConfig | None = None,
    progress: ProgressCallback | None = None,
    should_cancel: Callable[[], bool] | None = None,
    adapter: str | None = None,
) -> tuple[MemoryMix, MemoryReport]:
    """Sync the memory in `folder` with the code files of `root` (reading only what
    changed), then load it for search; when nothing changed and the generator already
    holds this memory with these settings, that one is kept (no reload). With `adapter`,
    the keys are the model's states with that adapter on (its own memory and folder)."""
    backend = memory_backend(generator)
    rag = rag or RagConfig()
    encoder = backend.token_encoder(window=config.window_tokens, adapter=adapter)
    store = MemoryStore(folder, encoder.identity)
    report = sync_memory(
        store,
        workspace_source(root, rag),
        secret_filter(rag.secrets),
        encoder,
        progress=progress,
        should_cancel=should_cancel,
    )
    current = backend.current_memory(adapter)
    unchanged = not (report.encoded or report.removed or report.reused)
    if current is not None and unchanged and current.settings == config.settings():
        return current, report
    keys, values = store.arrays()
    return MemoryMix(TokenNeighbours(keys, values), config.settings()), report
