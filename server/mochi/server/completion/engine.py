"""The completion pipeline, free of LSP: cursor -> context -> prompt -> model -> text."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache

from mochi.rag.languages import classify
from mochi.rag.prompting import build_prompt, select_snippets
from mochi.rag.prompting.retrieved import ContextBuilder
from mochi.rag.prompting.stops import at_line_start
from mochi.rag.prompting.window import split_at, window
from mochi.server.completion.explanation import ContextUse, context_uses
from mochi.server.completion.postprocess import clean_completion
from mochi.server.config import CompletionConfig
from mochi.server.generation import CancelToken, GenerationCancelled, GenerationRequest, Generator
from mochi.server.routing import ExpertRouter, RouteDecision, RouteQuery


@dataclass(frozen=True, slots=True)
class CursorRequest:
    path: str  # relative to the workspace root (or the file name)
    text: str  # the whole document
    line: int
    character: int
    kind: str = "completion"  # or "inline": what the router is told the request is


@dataclass(frozen=True, slots=True)
class Timings:
    retrieval_ms: float
    prompt_ms: float
    prefill_ms: float
    decode_ms: float
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    route_ms: float = 0.0  # part of retrieval_ms: choosing the expert (may embed)


NOT_ROUTED = RouteDecision(None, "not routed")


@dataclass(frozen=True, slots=True)
class Suggestion:
    """The outcome of one completion; `text` is None when there is nothing worth showing."""

    text: str | None
    adapter: str | None
    context_paths: tuple[str, ...]
    timings: Timings
    # Why this adapter (mochi.explainCompletion) and the context the prompt held.
    route: RouteDecision = NOT_ROUTED
    contexts: tuple[ContextUse, ...] = ()


class CompletionEngine:
    def __init__(
        self,
        generator: Generator,
        router: ExpertRouter,
        config: CompletionConfig,
        context: ContextBuilder | None = None,
    ) -> None:
        self.generator = generator
        self.router = router
        self.config = config
        self.context = context
        # Lines and snippets repeat from one keystroke to the next: count each once.
        self._count = lru_cache(maxsize=65536)(generator.count_tokens)

    def complete(self, request: CursorRequest, cancel: CancelToken) -> Suggestion:
        """The suggestion for the cursor (text None when there is none); raises
        GenerationCancelled when `cancel` is set before the answer is ready."""
        if cancel.is_set():
            raise GenerationCancelled()
        started = time.perf_counter()
        language, _ = classify(request.path)
        prefix, suffix = split_at(request.text, request.line, request.character)
        # Routed once, before the prompt: the router may read the code before the cursor.
        route = self.router.route(
            RouteQuery(request.kind, request.path, language, prefix), self.generator.adapters()
        )
        routed = time.perf_counter()
        count = self._count
        snippets = []
        if self.context is not None and self.config.context_tokens > 0:
            candidates = self.context.snippets(request.path, prefix)
            snippets = select_snippets(candidates, self.config.context_tokens, count, language)
        retrieved = time.perf_counter()
        if cancel.is_set():
            raise GenerationCancelled()
        win = window(prefix, suffix, self.config.prompt_tokens, count)
        info = self.generator.info()
        prompt = build_prompt(
            prefix=win.prefix,
            suffix=win.suffix,
            path=request.path,
            language=language,
            snippets=snippets,
            # A back end that takes the suffix builds the FIM prompt itself.
            fim_template=None if info.takes_suffix else info.fim_template,
        )
        stop = prompt.stop if self.config.multiline else (*prompt.stop, "\n")
        prompted = time.perf_counter()
        result = self.generator.generate(
            GenerationRequest(
                prompt=prompt.text,
                max_tokens=self.config.max_tokens,
                stop=stop,
                adapter=route.expert,
                adapter_weights=route.weights if len(route.weights) > 1 else (),
                skip_leading_newlines=at_line_start(prefix),
                heal=self.config.token_healing,
                memory=self.config.memory,
                suffix=win.suffix if info.takes_suffix else "",
            ),
            cancel,
        )
        text = clean_completion(
            result.text, prefix=prefix, suffix=suffix, multiline=self.config.multiline
        )
        return Suggestion(
            text=text,
            adapter=result.adapter,
            context_paths=tuple(s.path for s in snippets),
            route=route,
            contexts=context_uses(snippets),
            timings=Timings(
                retrieval_ms=1000 * (retrieved - started),
                prompt_ms=1000 * (prompted - retrieved),
                prefill_ms=1000 * result.seconds_prefill,
                decode_ms=1000 * result.seconds_decode,
                prompt_tokens=result.prompt_tokens,
                cached_tokens=result.cached_prompt_tokens,
                completion_tokens=result.completion_tokens,
                route_ms=1000 * (routed - started),
            ),
        )
