"""The raw llama.cpp anchor of `bench_latency.py`: the prompts mochi's server builds while
a user types, replayed through llama-cpp-python's own completion call (no mochi code in the
timed path), with its automatic prefix reuse on, and off (the KV cache reset before each).

The prompts come from the server's own `CompletionEngine` (context from the same index,
the same prompt builder and settings), run in process over a generator that records each
prompt instead of decoding it; this is the pipeline `tests/server/test_eval_equals_serve.py`
shows to give `mochi serve`'s prompts.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from mochi.rag.index import open_workspace_index
from mochi.rag.prompting.retrieved import ContextBuilder
from mochi.server.completion.engine import CompletionEngine, CursorRequest
from mochi.server.config import load_config
from mochi.server.generation import CancelToken, GenerationRequest, GenerationResult, Generator
from mochi.server.routing import RuleRouter


class PromptRecorder:
    """A `Generator` that keeps the requests it is given and answers nothing."""

    def __init__(self, inner: Generator) -> None:
        self.inner = inner
        self.requests: list[GenerationRequest] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def generate(self, request: GenerationRequest, cancel: CancelToken) -> GenerationResult:
        self.requests.append(request)
        return GenerationResult("", "stop", 0, 0)


def served_prompts(
    root: Path, target: str, prefix: str, typed: str, options: dict[str, Any], inner: Generator
) -> list[GenerationRequest]:
    """The generation request the server makes after each keystroke of `typed`."""
    config = load_config(root, options)
    index = open_workspace_index(root, config)
    try:
        recorder = PromptRecorder(inner)
        context = ContextBuilder(index.retriever, config.completion.retrieval_k)
        engine = CompletionEngine(recorder, RuleRouter(), config.completion, context)
        text = prefix  # the editor's document: the file cut at the anchor, then what is typed
        for ch in typed:
            text += ch
            lines = text.split("\n")
            cursor = CursorRequest(target, text, len(lines) - 1, len(lines[-1]))
            engine.complete(cursor, CancelToken())
        return recorder.requests
    finally:
        index.close()


def raw_llama_cpp(
    gguf: Path,
    requests: list[GenerationRequest],
    *,
    reuse: bool,
    threads: int,
    counts: list[int] | None = None,
    label: str = "",
) -> dict[str, Any]:
    """p50/p95 of llama-cpp-python's create_completion over `requests`, greedy; with
    `counts`, request i decodes exactly counts[i] tokens (no stop strings): the work mochi
    did for it, so that the two differ only by their overhead."""
    import llama_cpp

    llm = llama_cpp.Llama(
        model_path=str(gguf),
        n_ctx=4096,
        n_batch=512,
        n_threads=threads,
        n_threads_batch=threads,
        verbose=False,
    )
    times: list[float] = []
    tokens: list[int] = []
    try:
        llm.create_completion(requests[0].prompt, max_tokens=1, temperature=0.0)  # warm-up
        for i, request in enumerate(requests):
            if not reuse:
                llm.reset()
            started = time.perf_counter()
            out: Any = llm.create_completion(
                request.prompt,
                max_tokens=request.max_tokens if counts is None else max(1, counts[i]),
                temperature=0.0,
                stop=(list(request.stop) or None) if counts is None else None,
            )
            times.append(1000 * (time.perf_counter() - started))
            tokens.append(int(out["usage"]["completion_tokens"]))
    finally:
        llm.close()
    ordered = sorted(times)
    return {
        "run": f"llama.cpp raw (llama-cpp-python){label}, prefix reuse {'on' if reuse else 'off'}",
        "requests": len(times),
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))], 1),
        "completion_tokens_p50": statistics.median(tokens),
    }
