"""What a run's completer needs of the repository at the cut: the index (for the retrieval
configurations), the adapter (for the lora ones) and the checked-out tree (for the token
memory of the memory ones), opened together and closed together.

The completer itself is composed where the language server's pipeline is visible (the
`mochi eval` command): the trainer measures what the server serves, without importing it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from mochi.rag.prompting.retrieved import ContextBuilder
from mochi.rag.protocols import Embedder, Retriever
from mochi.rag.types import Progress
from mochi.trainer.evaluation.adapter_at_cut import adapter_at_cut
from mochi.trainer.evaluation.index_at_cut import open_index_at_cut
from mochi.trainer.evaluation.run_spec import RunSpec
from mochi.trainer.evaluation.run_state import PreparedRun
from mochi.trainer.evaluation.snapshot import worktree_at

ProgressFn = Callable[[str, int, int], None]
WORKTREE_DIR = "worktree"
RAG_DIR = "rag"


@dataclass(frozen=True)
class RunInputs:
    retriever: Retriever | None  # the index at the cut; None when no configuration needs it
    adapter_dir: Path | None  # the LoRA of the lora configurations
    worktree: Path | None = None  # the tree at the cut, while the run lasts (memory configs)


@contextmanager
def open_run_inputs(
    spec: RunSpec,
    run: PreparedRun,
    *,
    embedder: Embedder | None = None,
    progress: ProgressFn | None = None,
) -> Iterator[RunInputs]:
    """The index at the cut (built in the run folder, so a resumed run reuses it) when a
    configuration retrieves or a LoRA is to be trained here (its retrieval-aware samples),
    and the LoRA (given, or trained at the cut)."""
    train_here = spec.needs_adapter and spec.adapter_dir is None
    with ExitStack() as stack:
        retriever = None
        worktree = None
        if spec.needs_retrieval or train_here or spec.needs_memory:
            worktree = stack.enter_context(
                worktree_at(run.repo, run.since, spec.out / WORKTREE_DIR)
            )
        if spec.needs_retrieval or train_here:
            assert worktree is not None

            def on_index(report: Progress) -> None:
                if progress is not None:
                    progress(f"index: {report.stage}", report.done, report.total)

            index = open_index_at_cut(
                worktree, spec.out / RAG_DIR, embedder=embedder, progress=on_index
            )
            stack.callback(index.close)
            retriever = index.retriever
        adapter = None
        if spec.needs_adapter:
            context = ContextBuilder(retriever, k=spec.decoding.retrieval_k) if retriever else None
            adapter = adapter_at_cut(spec, run, context=context, progress=progress)
        yield RunInputs(
            retriever if spec.needs_retrieval else None,
            adapter,
            worktree if spec.needs_memory else None,
        )
