"""The server's completion pipeline as the trainer's `Completer`: `mochi eval` (and the
daemon's eval gate) complete each task exactly as `mochi serve` answers an editor whose
cursor stands at the start of the task's line — the server's context retrieval, prompt,
router, generator and post-processing (`CompletionEngine`), in process, without LSP.

This is a composition root: it may see both the language server and the trainer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from mochi.rag.prompting.retrieved import ContextBuilder
from mochi.rag.protocols import Embedder, Retriever
from mochi.rag.types import Progress
from mochi.server.completion.engine import CompletionEngine, CursorRequest
from mochi.server.config import CompletionConfig, MemoryConfig, MochiConfig
from mochi.server.generation import CancelToken, Generator
from mochi.server.generation.token_memory import MemoryMix
from mochi.server.memory.workspace_memory import build_memory, memory_backend
from mochi.server.routing import NO_EXPERT, RuleRouter
from mochi.trainer.evaluation import Completer, Configuration, DecodingSettings, RunSpec, Task
from mochi.trainer.evaluation.run_inputs import open_run_inputs
from mochi.trainer.evaluation.run_state import PreparedRun

ProgressFn = Callable[[str, int, int], None]
MEMORY_DIR = "memory"
# The name the training daemon publishes an adapter under; the server's router picks an
# expert of this name when no rule or language names another.
ADAPTER_NAME = "default"


def cursor_at(task: Task) -> CursorRequest:
    """The editor's view of a task: the file without the line, the cursor at its start."""
    line = task.prefix.count("\n")
    character = len(task.prefix) - (task.prefix.rfind("\n") + 1)
    return CursorRequest(task.path, task.prefix + task.suffix, line, character)


def completion_config(decoding: DecodingSettings) -> CompletionConfig:
    """The server's completion settings for a run's decoding settings (one line each)."""
    return CompletionConfig(
        max_tokens=decoding.max_new_tokens,
        multiline=False,
        prompt_tokens=decoding.prompt_tokens,
        context_tokens=decoding.context_tokens,
        retrieval_k=decoding.retrieval_k,
        token_healing=decoding.token_healing,
    )


class ServedCompleter:
    """Implements `Completer`: one `CompletionEngine` per configuration over one generator.

    A configuration without retrieval gets no context builder; one without the LoRA gets
    a router pinned to the base model (`NO_EXPERT`); one with it gets the router as the
    server builds it, which picks the adapter loaded as `ADAPTER_NAME`; one with the
    memory asks the generator to mix in the token memory it was given (`use_memory`).
    """

    def __init__(
        self,
        generator: Generator,
        completion: CompletionConfig,
        retriever: Retriever | None = None,
    ) -> None:
        self.generator = generator
        self.completion = completion
        self._context = (
            ContextBuilder(retriever, completion.retrieval_k) if retriever is not None else None
        )
        self._engines: dict[str, CompletionEngine] = {}

    def engine(self, config: Configuration) -> CompletionEngine:
        engine = self._engines.get(config.name)
        if engine is None:
            if config.retrieval and self._context is None:
                raise ValueError(f"configuration {config.name!r} needs the index")
            if config.lora and ADAPTER_NAME not in self.generator.adapters():
                raise ValueError(f"configuration {config.name!r} needs an adapter")
            router = RuleRouter() if config.lora else RuleRouter(pinned=NO_EXPERT)
            context = self._context if config.retrieval else None
            settings = replace(self.completion, memory=config.memory)
            engine = CompletionEngine(self.generator, router, settings, context)
            self._engines[config.name] = engine
        return engine

    def complete(self, task: Task, config: Configuration) -> str:
        suggestion = self.engine(config).complete(cursor_at(task), CancelToken())
        return suggestion.text or ""


def served_generator(model_dir: Path, adapter_dir: Path | None, dtype: str) -> Generator:
    """The generator `mochi serve` would build for this model (and the adapter as a
    configured expert), on the configured back end's defaults."""
    from mochi.server.generation.factory import make_generator

    config = MochiConfig()
    config.model.name = str(model_dir)
    config.model.dtype = dtype  # type: ignore[assignment]
    # Every task from a cold cache: a task's text then depends on its prompt alone, not on
    # the task before it (llama.cpp's kernels for a reused prefix and a full prompt sum in
    # different orders, which can turn a near-tie token the other way).
    config.model.prefix_cache = False
    if adapter_dir is not None:
        config.model.adapters = {ADAPTER_NAME: str(adapter_dir)}
    return make_generator(config, model_dir)


@contextmanager
def open_served_completer(
    spec: RunSpec,
    run: PreparedRun,
    *,
    embedder: Embedder | None = None,
    progress: ProgressFn | None = None,
) -> Iterator[Completer]:
    """The run's inputs at the cut (index, adapter) and the server's pipeline over them."""
    with open_run_inputs(spec, run, embedder=embedder, progress=progress) as inputs:
        generator = served_generator(spec.model_dir, inputs.adapter_dir, spec.decoding.dtype)
        try:
            if inputs.worktree is not None:
                memory = memory_at_cut(
                    generator, inputs.worktree, spec.out, memory_config(spec.decoding), progress
                )
                memory_backend(generator).use_memory(memory)
                if spec.decoding.memory_per_adapter and inputs.adapter_dir is not None:
                    own = memory_at_cut(
                        generator,
                        inputs.worktree,
                        spec.out,
                        memory_config(spec.decoding),
                        progress,
                        adapter=ADAPTER_NAME,
                    )
                    memory_backend(generator).use_memory(own, ADAPTER_NAME)
            yield ServedCompleter(generator, completion_config(spec.decoding), inputs.retriever)
        finally:
            generator.close()


def memory_config(decoding: DecodingSettings) -> MemoryConfig:
    return MemoryConfig(
        weight=decoding.memory_weight,
        neighbours=decoding.memory_neighbours,
        temperature=decoding.memory_temperature,
        adaptive=decoding.memory_adaptive,
    )


def memory_at_cut(
    generator: Generator,
    worktree: Path,
    out: Path,
    config: MemoryConfig,
    progress: ProgressFn | None,
    adapter: str | None = None,
) -> MemoryMix:
    """The token memory of the tree at the cut, kept in the run folder (a resumed run
    reads it back), built as the language server builds a workspace's memory: the base
    model's, or with `adapter` on (in a folder of its own)."""

    def report(p: Progress) -> None:
        if progress is not None:
            progress(f"memory: {p.stage}", p.done, p.total)

    folder = out / (MEMORY_DIR if adapter is None else f"{MEMORY_DIR}-{adapter}")
    memory, _ = build_memory(generator, worktree, folder, config, progress=report, adapter=adapter)
    return memory


@contextmanager
def open_version_completer(model_dir: Path, adapter_dir: Path | None) -> Iterator[Completer]:
    """The daemon's `VersionCompleters`: the served pipeline over the base model and one
    adapter version, at the server's default completion settings (the gate compares the
    adapters, so no index is opened: both versions see the same prompts)."""
    generator = served_generator(model_dir, adapter_dir, DecodingSettings().dtype)
    try:
        yield ServedCompleter(generator, completion_config(DecodingSettings()))
    finally:
        generator.close()
