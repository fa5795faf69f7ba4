"""Several LoRA experts per request at weights (`GenerationRequest.adapter_weights`): on
the tiny random Llama with two random peft adapters, llama.cpp (the experts' GGUF LoRA at
their weights, natively) and transformers (a cached peft "cat" merge) decode the same
greedy text, which neither expert gives alone; degenerate weights are the single expert;
a merge is made once per combination and evicted merges leave the model; a change of
combination drops the KV cache; the engine passes the router's weights on; and vLLM, which
cannot combine adapters per request, serves the top expert and says so once."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import httpx
import pytest
from recording_generator import RecordingGenerator
from tiny_model import PROMPTS, tiny_transformers

from mochi.server.completion.engine import CompletionEngine, CursorRequest
from mochi.server.config import CompletionConfig
from mochi.server.generation.adapter_mix import adapter_mix, mix_label
from mochi.server.generation.llamacpp_backend import LlamaCppGenerator
from mochi.server.generation.lora_adapters import LoraAdapters
from mochi.server.generation.transformers_backend import TransformersGenerator
from mochi.server.generation.types import (
    CancelToken,
    GenerationError,
    GenerationRequest,
    GenerationResult,
)
from mochi.server.generation.vllm_backend import VllmGenerator
from mochi.server.routing import RouteDecision, RouteQuery

LONG_PROMPT = "".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(12))
EVEN = (("alpha", 0.5), ("beta", 0.5))
Weights = tuple[tuple[str, float], ...]


def run(
    generator: LlamaCppGenerator | TransformersGenerator,
    prompt: str,
    adapter: str | None = None,
    weights: Weights = (),
    max_tokens: int = 10,
) -> GenerationResult:
    request = GenerationRequest(
        prompt, max_tokens=max_tokens, adapter=adapter, adapter_weights=weights
    )
    return generator.generate(request, CancelToken())


def text(
    generator: LlamaCppGenerator | TransformersGenerator,
    prompt: str,
    adapter: str | None = None,
    weights: Weights = (),
) -> str:
    return run(generator, prompt, adapter, weights).text


# -- the combination -------------------------------------------------------------------


def test_the_combination_is_canonical() -> None:
    assert adapter_mix(None) == ()
    assert adapter_mix("alpha") == (("alpha", 1.0),)
    assert adapter_mix("alpha", (("alpha", 1.0),)) == (("alpha", 1.0),)  # one: not read
    assert adapter_mix("beta", (("beta", 0.6), ("alpha", 0.4))) == (("alpha", 0.4), ("beta", 0.6))
    assert adapter_mix("a", (("a", 0.501), ("b", 0.499))) == (("a", 0.5), ("b", 0.5))
    assert adapter_mix("a", (("a", 0.999), ("b", 0.001))) == (("a", 1.0),)
    assert mix_label(adapter_mix("a", (("a", 0.7), ("b", 0.3)))) == "a*0.7+b*0.3"


# -- the same text on both back ends ---------------------------------------------------


@pytest.mark.parametrize(
    "weights",
    [EVEN, (("alpha", 0.8), ("beta", 0.2)), (("alpha", 2.0), ("beta", 0.0))],
    ids=mix_label,
)
def test_a_weighted_mix_decodes_the_same_on_llama_cpp_and_transformers(
    gen: LlamaCppGenerator, reference: TransformersGenerator, weights: Weights
) -> None:
    for prompt in PROMPTS:
        ours = run(gen, prompt, "alpha", weights)
        theirs = run(reference, prompt, "alpha", weights)
        assert ours.text == theirs.text, (weights, prompt)
        assert ours.adapter == theirs.adapter == "alpha"  # the top expert is reported


@pytest.mark.parametrize("backend", ["llama.cpp", "transformers"])
def test_an_even_mix_is_neither_expert_nor_the_base(
    gen: LlamaCppGenerator, reference: TransformersGenerator, backend: str
) -> None:
    generator = gen if backend == "llama.cpp" else reference
    for prompt in PROMPTS:
        mixed = text(generator, prompt, "alpha", EVEN)
        alone = {name: text(generator, prompt, name) for name in (None, "alpha", "beta")}
        assert mixed not in alone.values(), (prompt, mixed, alone)


@pytest.mark.parametrize("backend", ["llama.cpp", "transformers"])
@pytest.mark.parametrize(
    "weights",
    [(("alpha", 1.0), ("beta", 0.0)), (("beta", 0.001), ("alpha", 0.999)), (("alpha", 1.0),)],
    ids=mix_label,
)
def test_degenerate_weights_are_the_single_expert(
    gen: LlamaCppGenerator, reference: TransformersGenerator, backend: str, weights: Weights
) -> None:
    generator = gen if backend == "llama.cpp" else reference
    merges = reference.weighted_merges()
    for prompt in PROMPTS:
        assert text(generator, prompt, "alpha", weights) == text(generator, prompt, "alpha")
    assert reference.weighted_merges() == merges  # no merge was made for them


def test_a_mix_naming_an_unknown_expert_is_refused(
    gen: LlamaCppGenerator, reference: TransformersGenerator
) -> None:
    for generator in (gen, reference):
        with pytest.raises(GenerationError, match="unknown adapter 'nope'"):
            run(generator, PROMPTS[0], "alpha", (("alpha", 0.5), ("nope", 0.5)))


# -- caches ----------------------------------------------------------------------------


def test_the_merge_is_made_once_per_combination(
    tiny_model_dir: Path, tiny_adapters: dict[str, Path]
) -> None:
    fresh = tiny_transformers(tiny_model_dir, tiny_adapters)
    first = run(fresh, LONG_PROMPT, "alpha", EVEN)
    assert fresh.weighted_merges() == 1
    again = run(fresh, LONG_PROMPT, "alpha", (("beta", 0.499), ("alpha", 0.501)))  # rounds alike
    assert fresh.weighted_merges() == 1
    assert again.text == first.text
    assert again.cached_prompt_tokens > 0  # the combination's own prefix cache
    other = run(fresh, LONG_PROMPT, "alpha", (("alpha", 0.7), ("beta", 0.3)))
    assert fresh.weighted_merges() == 2
    assert other.cached_prompt_tokens == 0  # not the keys and values of another mix
    assert run(fresh, LONG_PROMPT, "alpha").cached_prompt_tokens == 0
    assert run(fresh, LONG_PROMPT, "alpha", EVEN).cached_prompt_tokens > 0  # still kept
    assert fresh.weighted_merges() == 2
    assert fresh.adapters() == ["alpha", "beta"]  # merges are not experts
    fresh.close()


def test_evicted_and_stale_merges_leave_the_model(
    tiny_model_dir: Path, tiny_adapters: dict[str, Path]
) -> None:
    from transformers import LlamaForCausalLM

    dropped: list[str] = []
    experts = LoraAdapters(
        LlamaForCausalLM.from_pretrained(tiny_model_dir),
        str(tiny_model_dir),
        max_merges=2,
        on_dropped=dropped.append,
    )
    for name, path in tiny_adapters.items():
        experts.load(name, str(path))
    mixes = [adapter_mix("alpha", (("alpha", w), ("beta", 1 - w))) for w in (0.2, 0.4, 0.6)]
    served = [experts.serving(mix) for mix in mixes]
    assert experts.merges_made == 3 and len(set(served)) == 3
    assert dropped == [served[0]]  # the least recently used one
    assert experts.merged() == served[1:]
    assert set(experts.model.peft_config) == {"alpha", "beta", *served[1:]}
    assert experts.serving(mixes[1]) == served[1]  # cached: now the most recent
    assert experts.merged() == [served[2], served[1]]
    experts.load("beta", str(tiny_adapters["beta"]))  # replaced: its merges are stale
    assert experts.merged() == [] and set(dropped) == set(served)
    assert set(experts.model.peft_config) == {"alpha", "beta"}
    assert experts.serving(adapter_mix("beta")) == "beta"


def test_switching_combinations_drops_the_kv_cache(gen: LlamaCppGenerator) -> None:
    def cached(weights: Weights, adapter: str | None = "alpha") -> int:
        return run(gen, LONG_PROMPT, adapter, weights, max_tokens=2).cached_prompt_tokens

    cached(EVEN)
    assert cached(EVEN) > 0  # the same combination: the prefix is reused
    assert cached((("alpha", 0.7), ("beta", 0.3))) == 0
    assert cached(()) == 0  # alpha alone
    assert cached(()) > 0
    assert cached(EVEN) == 0
    assert cached((), adapter=None) == 0  # the base model
    assert cached(EVEN) == 0


# -- the engine --------------------------------------------------------------------------


class TwoExperts:
    """A router that weighs alpha and beta (or, with `weights` of one, alpha alone)."""

    def __init__(self, weights: Weights) -> None:
        self.weights = weights

    def route(self, query: RouteQuery, available: Sequence[str]) -> RouteDecision:
        return RouteDecision("alpha", "gate", self.weights, self.weights[0][1])

    def choose(self, path: str, language: str, available: Sequence[str]) -> str | None:
        return "alpha"

    def select(self, name: str | None) -> None:
        pass

    def selected(self) -> str | None:
        return None


@pytest.mark.parametrize("weights", [(("alpha", 0.6), ("beta", 0.4)), (("alpha", 1.0),)])
def test_the_engine_passes_the_routed_weights(weights: Weights) -> None:
    generator = RecordingGenerator("x = 1", loaded={"alpha": "", "beta": ""})
    engine = CompletionEngine(generator, TwoExperts(weights), CompletionConfig())
    suggestion = engine.complete(CursorRequest("a.py", "x = ", 0, 4), CancelToken())
    sent = generator.requests[0]
    assert sent.adapter == "alpha" == suggestion.adapter
    assert sent.adapter_weights == (weights if len(weights) > 1 else ())


# -- vLLM: the top expert alone ----------------------------------------------------------


def scripted_vllm(sent: list[dict[str, object]]) -> httpx.MockTransport:
    """Answers /v1/completions with "x" (as a vLLM stream) and records the bodies."""
    models = {"data": [{"id": "tiny", "parent": None}, {"id": "alpha", "parent": "tiny"}]}
    event = {"choices": [{"index": 0, "text": "x", "finish_reason": "stop"}]}
    stream = f"data: {json.dumps(event)}\n\ndata: [DONE]\n\n".encode()

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/models":
            return httpx.Response(200, json=models)
        sent.append(json.loads(request.content))
        return httpx.Response(200, content=stream)

    return httpx.MockTransport(answer)


def test_vllm_serves_the_top_expert_and_says_once_that_weights_are_ignored(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sent: list[dict[str, object]] = []
    vllm = VllmGenerator("http://vllm.test", model="tiny", transport=scripted_vllm(sent))
    caplog.set_level(logging.DEBUG, logger="mochi.server.generation.vllm_backend")
    request = GenerationRequest("def f():", adapter="alpha", adapter_weights=EVEN)
    for _ in range(2):
        assert vllm.generate(request, CancelToken()).adapter == "alpha"
    vllm.close()
    assert [body["model"] for body in sent] == ["alpha", "alpha"]
    ignored = [r for r in caplog.records if "ignored" in r.getMessage()]
    assert len(ignored) == 1 and ignored[0].levelno == logging.DEBUG
