"""Completing a task as the server would: the server's prompt format and budgets, the
configuration deciding whether retrieval and the adapter are used."""

from __future__ import annotations

from functools import lru_cache
from typing import Protocol

from mochi.rag.prompting import CompletionPrompt, ContextSnippet, build_prompt, select_snippets
from mochi.rag.prompting.stops import at_line_start, drop_opening_newlines
from mochi.rag.prompting.window import window
from mochi.trainer.evaluation.configurations import Configuration
from mochi.trainer.evaluation.decoding import DecodingSettings
from mochi.trainer.evaluation.tasks import Task


class Completer(Protocol):
    def complete(self, task: Task, config: Configuration) -> str:
        """The predicted line for `task` under `config`."""
        ...


class LineModel(Protocol):
    """A causal LM that continues a prompt greedily until a stop string."""

    @property
    def fim_template(self) -> str | None: ...

    @property
    def has_adapter(self) -> bool: ...

    def count_tokens(self, text: str) -> int: ...

    def generate(
        self,
        prompt: str,
        stop: tuple[str, ...],
        max_new_tokens: int,
        *,
        adapter: bool,
        skip_leading_newlines: bool = False,
    ) -> str: ...


class ContextSource(Protocol):
    """Cross-file snippets for a cursor (`mochi.rag.prompting.retrieved.ContextBuilder`)."""

    def snippets(self, path: str, prefix: str) -> list[ContextSnippet]: ...


def first_line(text: str, prefix: str = "") -> str:
    """The suggestion's first line, as the server cuts it (`drop_opening_newlines`)."""
    return drop_opening_newlines(text, prefix).split("\n", 1)[0].rstrip()


class PromptCompleter:
    """Implements `Completer` over a `LineModel` and, for retrieval, a `ContextSource`."""

    def __init__(
        self,
        model: LineModel,
        settings: DecodingSettings,
        context: ContextSource | None = None,
    ) -> None:
        self.model = model
        self.settings = settings
        self.context = context
        self._count = lru_cache(maxsize=65536)(model.count_tokens)

    def prompt(self, task: Task, config: Configuration) -> CompletionPrompt:
        snippets: list[ContextSnippet] = []
        if config.retrieval:
            if self.context is None:
                raise ValueError(f"configuration {config.name!r} needs a context source")
            if self.settings.context_tokens > 0:
                candidates = self.context.snippets(task.path, task.prefix)
                snippets = select_snippets(
                    candidates, self.settings.context_tokens, self._count, task.language
                )
        cut = window(task.prefix, task.suffix, self.settings.prompt_tokens, self._count)
        prefix, suffix = cut.prefix, cut.suffix
        return build_prompt(
            prefix=prefix,
            suffix=suffix,
            path=task.path,
            language=task.language,
            snippets=snippets,
            fim_template=self.model.fim_template,
        )

    def complete(self, task: Task, config: Configuration) -> str:
        if config.lora and not self.model.has_adapter:
            raise ValueError(f"configuration {config.name!r} needs an adapter")
        prompt = self.prompt(task, config)
        raw = self.model.generate(
            prompt.text,
            (*prompt.stop, "\n"),
            self.settings.max_new_tokens,
            adapter=config.lora,
            skip_leading_newlines=at_line_start(task.prefix),
        )
        return first_line(raw, task.prefix)
