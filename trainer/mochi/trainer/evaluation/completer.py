"""What a run completes tasks with. The implementation is the language server's own
pipeline (context, prompt, router, generator, post-processing), composed by the
`mochi eval` command: what is measured is what is served."""

from __future__ import annotations

from typing import Protocol

from mochi.rag.prompting import ContextSnippet
from mochi.trainer.evaluation.configurations import Configuration
from mochi.trainer.evaluation.tasks import Task


class Completer(Protocol):
    def complete(self, task: Task, config: Configuration) -> str:
        """The suggestion for `task` under `config` ("" when there is none)."""
        ...


class ContextSource(Protocol):
    """Cross-file snippets for a cursor (`mochi.rag.prompting.retrieved.ContextBuilder`)."""

    def snippets(self, path: str, prefix: str) -> list[ContextSnippet]: ...
