"""Long prompts evaluated on a second llama.cpp context and moved to the decoding one
(`prefill`): with the same weights on both sides the text is exactly the one-context
text, with and without adapters; short tails stay on the decoding context; "auto" makes
a bf16 copy once, only for weight types that prefill slowly; cancellation and a cold
cache hold on the fast path too."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("llama_cpp")

from cancel_after import CancelAfter

from mochi.server.generation import gguf_prefill_copy
from mochi.server.generation.gguf_prefill_copy import needs_prefill_copy, prefill_copy
from mochi.server.generation.llamacpp_backend import LlamaCppGenerator
from mochi.server.generation.llamacpp_prefill import MIN_TAIL_TOKENS
from mochi.server.generation.types import (
    CancelToken,
    GenerationCancelled,
    GenerationError,
    GenerationRequest,
)

LONG_PROMPT = "".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(30))
OTHER_LONG = "".join(f"class C{i}:\n    value = {i}\n\n" for i in range(30))


def complete(gen: LlamaCppGenerator, prompt: str, adapter: str | None = None) -> str:
    request = GenerationRequest(prompt, max_tokens=12, adapter=adapter)
    return gen.generate(request, CancelToken()).text


@pytest.fixture(scope="module")
def adapters(tiny_adapters: dict[str, Path]) -> dict[str, str]:
    return {name: str(path) for name, path in tiny_adapters.items()}


@pytest.fixture(scope="module")
def one_context(tiny_gguf: Path, adapters: dict[str, str]) -> LlamaCppGenerator:
    return LlamaCppGenerator(str(tiny_gguf), adapters=adapters, threads=1, prefix_cache=False)


@pytest.fixture(scope="module")
def two_contexts(tiny_gguf: Path, adapters: dict[str, str]) -> LlamaCppGenerator:
    # the prefill context holds the same float32 weights: the moved cache is bit-identical
    return LlamaCppGenerator(str(tiny_gguf), adapters=adapters, threads=1, prefill=str(tiny_gguf))


@pytest.mark.parametrize("adapter", [None, "alpha", "beta"])
def test_a_moved_prompt_decodes_the_same_text(
    one_context: LlamaCppGenerator, two_contexts: LlamaCppGenerator, adapter: str | None
) -> None:
    before = two_contexts.fast_prefills()
    for prompt in (LONG_PROMPT, OTHER_LONG):
        assert complete(two_contexts, prompt, adapter) == complete(one_context, prompt, adapter)
    assert two_contexts.fast_prefills() == before + 2


def test_a_keystroke_stays_on_the_decoding_context(two_contexts: LlamaCppGenerator) -> None:
    complete(two_contexts, LONG_PROMPT)
    moved = two_contexts.fast_prefills()
    result = two_contexts.generate(
        GenerationRequest(LONG_PROMPT + "def g", max_tokens=4), CancelToken()
    )
    assert two_contexts.fast_prefills() == moved  # a few new tokens: evaluated in place
    assert result.cached_prompt_tokens > result.prompt_tokens - MIN_TAIL_TOKENS


def test_a_short_prompt_never_uses_the_prefill_context(tiny_gguf: Path) -> None:
    gen = LlamaCppGenerator(str(tiny_gguf), threads=1, prefill=str(tiny_gguf))
    try:
        complete(gen, "def mean(values):\n")
        assert gen.fast_prefills() == 0
    finally:
        gen.close()


def test_cancelling_during_the_fast_prefill(tiny_gguf: Path) -> None:
    gen = LlamaCppGenerator(str(tiny_gguf), threads=1, batch_size=32, prefill=str(tiny_gguf))
    try:
        with pytest.raises(GenerationCancelled):
            gen.generate(GenerationRequest(LONG_PROMPT, max_tokens=8), CancelAfter(2))
        assert complete(gen, LONG_PROMPT)  # nothing half-done is left behind
        assert gen.fast_prefills() == 1
    finally:
        gen.close()


def test_auto_copies_a_float32_model_to_bf16_once(
    tiny_gguf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(gguf_prefill_copy, "MIN_COPY_PARAMETERS", 0)  # the model is a toy
    gen = LlamaCppGenerator(str(tiny_gguf), threads=1, prefill="auto")
    try:
        copies = list((tmp_path / "mochi" / "models" / "gguf").glob("*.bf16.gguf"))
        assert len(copies) == 1 and copies[0].stat().st_size < tiny_gguf.stat().st_size
        assert copies[0].name in gen.health().detail
        assert complete(gen, LONG_PROMPT) is not None
        assert gen.fast_prefills() == 1
    finally:
        gen.close()
    made = copies[0].stat().st_mtime_ns
    assert prefill_copy(tiny_gguf, tmp_path / "mochi" / "models" / "gguf") == copies[0]
    assert copies[0].stat().st_mtime_ns == made  # cached, not written again
    assert not list(copies[0].parent.glob(".tmp-*"))


def test_off_and_fast_types_make_no_copy(
    tiny_gguf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    gen = LlamaCppGenerator(str(tiny_gguf), threads=1, prefill="off")
    gen.close()
    assert not (tmp_path / "mochi").exists()
    assert needs_prefill_copy(3, 135_000_000)  # Q4_1
    assert needs_prefill_copy(0, 135_000_000)  # float32
    for fast in (1, 2, 7, 32):  # f16, Q4_0, Q8_0, bf16
        assert not needs_prefill_copy(fast, 135_000_000)
    assert not needs_prefill_copy(3, 7_000_000_000)  # the copy would not fit beside it
    assert not needs_prefill_copy(3, 1_000_000)  # a toy model prefills fast anyway
    auto = LlamaCppGenerator(str(tiny_gguf), threads=1, prefill="auto")
    auto.close()
    assert not (tmp_path / "mochi").exists()


def test_a_bad_prefill_file_is_an_error(tiny_gguf: Path, tmp_path: Path) -> None:
    with pytest.raises(GenerationError, match=r"model\.prefill"):
        LlamaCppGenerator(str(tiny_gguf), threads=1, prefill=str(tmp_path / "missing.gguf"))
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF not really")
    with pytest.raises(GenerationError, match="bf16 copy"):
        prefill_copy(broken, tmp_path / "cache")
    assert not list((tmp_path / "cache").glob("*"))


@pytest.mark.slow
def test_the_packaged_q4_1_model_prefills_from_its_bf16_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mochi.server.models import packaged_gguf

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    gen = LlamaCppGenerator(
        str(packaged_gguf()), threads=min(2, os.cpu_count() or 1), prefill="auto"
    )
    try:
        text = complete(gen, "import os\n\n\n" + LONG_PROMPT + "def f30(x):\n    return")
        assert gen.fast_prefills() == 1
        assert "x" in text, text
    finally:
        gen.close()
