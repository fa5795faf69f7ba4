"""The composition root of a run: the worktree and index at the cut, the adapter, the
model and the completer over them, opened together and closed together."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

from mochi.rag.prompting.retrieved import ContextBuilder
from mochi.rag.protocols import Embedder
from mochi.rag.types import Progress
from mochi.trainer.evaluation.adapter_at_cut import adapter_at_cut
from mochi.trainer.evaluation.completer import Completer, PromptCompleter
from mochi.trainer.evaluation.index_at_cut import open_index_at_cut
from mochi.trainer.evaluation.run_spec import RunSpec
from mochi.trainer.evaluation.run_state import PreparedRun
from mochi.trainer.evaluation.snapshot import worktree_at
from mochi.trainer.evaluation.transformers_model import TransformersLineModel

ProgressFn = Callable[[str, int, int], None]
WORKTREE_DIR = "worktree"
RAG_DIR = "rag"


@contextmanager
def open_model_completer(
    spec: RunSpec,
    run: PreparedRun,
    *,
    embedder: Embedder | None = None,
    progress: ProgressFn | None = None,
) -> Iterator[Completer]:
    """A `PromptCompleter` over the transformers model (one base, the adapter switched per
    configuration) and, when a configuration or the training needs it, the index."""
    train_here = spec.needs_adapter and spec.adapter_dir is None
    with ExitStack() as stack:
        context = None
        if spec.needs_retrieval or train_here:
            worktree = stack.enter_context(
                worktree_at(run.repo, run.since, spec.out / WORKTREE_DIR)
            )

            def on_index(report: Progress) -> None:
                if progress is not None:
                    progress(f"index: {report.stage}", report.done, report.total)

            index = open_index_at_cut(
                worktree, spec.out / RAG_DIR, embedder=embedder, progress=on_index
            )
            stack.callback(index.close)
            context = ContextBuilder(index.retriever, k=spec.decoding.retrieval_k)
        adapter = (
            adapter_at_cut(spec, run, context=context, progress=progress)
            if spec.needs_adapter
            else None
        )
        model = TransformersLineModel(
            spec.model_dir,
            adapter_dir=adapter,
            dtype=spec.decoding.dtype,
            seed=spec.seed,
            token_healing=spec.decoding.token_healing,
        )
        yield PromptCompleter(model, spec.decoding, context if spec.needs_retrieval else None)
