"""TransformersGenerator on a tiny random Llama with two random LoRA adapters.

float32 throughout, so that outputs compare token for token."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from mochi.server.generation.transformers_backend import TransformersGenerator
from mochi.server.generation.types import (
    BackendState,
    CancelToken,
    GenerationCancelled,
    GenerationError,
    GenerationRequest,
)

PROMPT = "def mean(values):\n    total = sum(values)\n"
LONG_PROMPT = "".join(
    f"def f{i}(x):\n    return x + {i}\n\n" for i in range(30)
)  # a few hundred tokens


def make(
    model_dir: Path, adapters: dict[str, Path] | None = None, **kw: Any
) -> TransformersGenerator:
    return TransformersGenerator(
        str(model_dir),
        dtype="float32",
        adapters={name: str(path) for name, path in (adapters or {}).items()},
        **kw,
    )


def greedy(gen: TransformersGenerator, prompt: str, adapter: str | None = None, n: int = 12) -> str:
    return gen.generate(
        GenerationRequest(prompt, max_tokens=n, adapter=adapter), CancelToken()
    ).text


class CancelAfter(CancelToken):
    """Cancelled once `is_set` has been asked `checks` times (a deterministic mid-run cancel)."""

    def __init__(self, checks: int) -> None:
        super().__init__()
        self.remaining = checks

    def is_set(self) -> bool:
        self.remaining -= 1
        return self.remaining < 0 or super().is_set()


@pytest.fixture(scope="module")
def gen(tiny_model_dir: Path, tiny_adapters: dict[str, Path]) -> TransformersGenerator:
    return make(tiny_model_dir, tiny_adapters)


def reference_greedy(model_dir: Path, adapter_dir: Path | None, prompt: str, n: int) -> str:
    """Plain transformers/peft, no KV cache: recompute the whole sequence for each token."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model: Any = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    if adapter_dir is not None:
        model = PeftModel.from_pretrained(model, str(adapter_dir))
    model.eval()
    ids = tokenizer(prompt)["input_ids"]
    new: list[int] = []
    with torch.inference_mode():
        for _ in range(n):
            logits = model(input_ids=torch.tensor([ids + new])).logits[0, -1]
            token = int(torch.argmax(logits))
            if token in tokenizer.all_special_ids:
                break
            new.append(token)
    return str(tokenizer.decode(new, skip_special_tokens=True))


# -- loading, info, health -----------------------------------------------------------


def test_info_and_health(gen: TransformersGenerator, tiny_model_dir: Path) -> None:
    info = gen.info()
    assert info.backend == "transformers"
    assert info.model_id == str(tiny_model_dir)
    assert info.context_length == 2048
    assert info.fim_template == "qwen"  # detected from <|fim_prefix|> in the vocabulary
    assert set(info.adapters) == {"alpha", "beta"}
    assert gen.health().state is BackendState.READY
    assert gen.count_tokens(PROMPT) > 5


def test_fim_template_given_overrides_detection(tiny_model_dir: Path) -> None:
    assert make(tiny_model_dir, fim_template="starcoder").info().fim_template == "starcoder"


def test_missing_model_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(GenerationError, match=r"config\.json is missing"):
        TransformersGenerator(str(tmp_path))


def test_close_marks_the_backend_down(tiny_model_dir: Path) -> None:
    g = make(tiny_model_dir)
    g.close()
    assert g.health().state is BackendState.DOWN
    with pytest.raises(GenerationError, match="closed"):
        greedy(g, PROMPT)


# -- adapters --------------------------------------------------------------------------


def test_base_and_each_adapter_give_different_outputs(gen: TransformersGenerator) -> None:
    outputs = {name: greedy(gen, PROMPT, name) for name in (None, "alpha", "beta")}
    assert len(set(outputs.values())) == 3, outputs
    assert all(outputs.values())


def test_named_adapter_matches_plain_peft_with_only_that_adapter(
    gen: TransformersGenerator, tiny_model_dir: Path, tiny_adapters: dict[str, Path]
) -> None:
    for name in ("alpha", "beta"):
        expected = reference_greedy(tiny_model_dir, tiny_adapters[name], PROMPT, 12)
        result = gen.generate(GenerationRequest(PROMPT, max_tokens=12, adapter=name), CancelToken())
        assert result.text == expected
        assert result.adapter == name
    assert greedy(gen, PROMPT) == reference_greedy(tiny_model_dir, None, PROMPT, 12)


def test_unknown_adapter_names_the_available_ones(gen: TransformersGenerator) -> None:
    with pytest.raises(GenerationError, match=r"unknown adapter 'gamma'.*alpha, beta"):
        gen.generate(GenerationRequest(PROMPT, adapter="gamma"), CancelToken())


def test_load_adapter_at_run_time(tiny_model_dir: Path, tiny_adapters: dict[str, Path]) -> None:
    g = make(tiny_model_dir)  # no adapters: a plain model until the first one loads
    base = greedy(g, PROMPT)
    assert g.adapters() == []
    g.load_adapter("alpha", str(tiny_adapters["alpha"]))
    alpha = greedy(g, PROMPT, "alpha")
    assert alpha != base
    assert greedy(g, PROMPT) == base  # the base is still reachable
    g.load_adapter("beta", str(tiny_adapters["beta"]))
    assert sorted(g.adapters()) == ["alpha", "beta"]
    # replacing "alpha" by beta's weights: same name, beta's output, stale cache dropped
    g.load_adapter("alpha", str(tiny_adapters["beta"]))
    assert greedy(g, PROMPT, "alpha") == greedy(g, PROMPT, "beta")
    assert sorted(g.info().adapters) == ["alpha", "beta"]


def test_load_adapter_rejects_a_folder_without_adapter_config(
    gen: TransformersGenerator, tmp_path: Path
) -> None:
    with pytest.raises(GenerationError, match=r"adapter_config\.json"):
        gen.load_adapter("broken", str(tmp_path))


def test_base_model_mismatch_is_a_warning(
    tiny_model_dir: Path, tiny_adapters: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    import json
    import shutil

    folder = tiny_model_dir.parent / "adapter-from-elsewhere"
    shutil.copytree(tiny_adapters["alpha"], folder, dirs_exist_ok=True)
    config_file = folder / "adapter_config.json"
    config = json.loads(config_file.read_text())
    config["base_model_name_or_path"] = "SomeOrg/another-model"
    config_file.write_text(json.dumps(config))
    g = make(tiny_model_dir)
    with caplog.at_level("WARNING"):
        g.load_adapter("elsewhere", str(folder))
    assert "another-model" in caplog.text
    assert greedy(g, PROMPT, "elsewhere")


# -- prefix reuse ----------------------------------------------------------------------


def test_prefix_reuse_is_token_identical_to_a_fresh_prefill(tiny_model_dir: Path) -> None:
    tail = "def g(y):\n    return y"
    warm = make(tiny_model_dir)
    first = warm.generate(GenerationRequest(LONG_PROMPT, max_tokens=8), CancelToken())
    assert first.cached_prompt_tokens == 0
    second = warm.generate(GenerationRequest(LONG_PROMPT + tail, max_tokens=16), CancelToken())
    assert second.cached_prompt_tokens >= warm.count_tokens(LONG_PROMPT) - 1
    assert second.cached_prompt_tokens < second.prompt_tokens
    fresh = make(tiny_model_dir).generate(
        GenerationRequest(LONG_PROMPT + tail, max_tokens=16), CancelToken()
    )
    assert fresh.cached_prompt_tokens == 0
    assert second.text == fresh.text
    assert second.completion_tokens == fresh.completion_tokens


def test_the_same_prompt_twice_reuses_all_but_its_last_token(gen: TransformersGenerator) -> None:
    a = gen.generate(GenerationRequest(LONG_PROMPT + "# same\n", max_tokens=4), CancelToken())
    b = gen.generate(GenerationRequest(LONG_PROMPT + "# same\n", max_tokens=4), CancelToken())
    assert b.cached_prompt_tokens == b.prompt_tokens - 1
    assert a.text == b.text


def test_an_edit_in_the_middle_reuses_the_part_before_it(tiny_model_dir: Path) -> None:
    g = make(tiny_model_dir)
    edited = LONG_PROMPT.replace("return x + 20", "return x - 20")
    g.generate(GenerationRequest(LONG_PROMPT, max_tokens=4), CancelToken())
    result = g.generate(GenerationRequest(edited, max_tokens=8), CancelToken())
    assert 0 < result.cached_prompt_tokens < result.prompt_tokens - 10
    assert (
        result.text
        == make(tiny_model_dir)
        .generate(GenerationRequest(edited, max_tokens=8), CancelToken())
        .text
    )


def test_caches_are_kept_per_adapter(tiny_model_dir: Path, tiny_adapters: dict[str, Path]) -> None:
    gen = make(tiny_model_dir, tiny_adapters)
    prompt = LONG_PROMPT + "# per adapter\n"
    gen.generate(GenerationRequest(prompt, max_tokens=2, adapter="alpha"), CancelToken())
    other = gen.generate(GenerationRequest(prompt, max_tokens=2, adapter="beta"), CancelToken())
    assert other.cached_prompt_tokens == 0
    again = gen.generate(GenerationRequest(prompt, max_tokens=2, adapter="alpha"), CancelToken())
    assert again.cached_prompt_tokens == again.prompt_tokens - 1


def test_chunked_prefill_gives_the_same_output(tiny_model_dir: Path) -> None:
    chunked = make(tiny_model_dir, prefill_chunk=7)
    whole = make(tiny_model_dir, prefill_chunk=4096)
    request = GenerationRequest(LONG_PROMPT, max_tokens=12)
    assert (
        chunked.generate(request, CancelToken()).text == whole.generate(request, CancelToken()).text
    )


def test_switching_between_two_prompts_keeps_both_cached(tiny_model_dir: Path) -> None:
    g = make(tiny_model_dir)
    other = "class Other:\n" + "    x = 1\n" * 40
    g.generate(GenerationRequest(LONG_PROMPT, max_tokens=2), CancelToken())
    g.generate(GenerationRequest(other, max_tokens=2), CancelToken())
    back = g.generate(GenerationRequest(LONG_PROMPT + "#", max_tokens=2), CancelToken())
    assert back.cached_prompt_tokens >= g.count_tokens(LONG_PROMPT) - 1


# -- cancellation, stop strings, limits --------------------------------------------------


def test_cancelled_before_start(gen: TransformersGenerator) -> None:
    token = CancelToken()
    token.cancel()
    with pytest.raises(GenerationCancelled):
        gen.generate(GenerationRequest(PROMPT), token)


def test_cancel_between_tokens(gen: TransformersGenerator) -> None:
    with pytest.raises(GenerationCancelled):
        gen.generate(GenerationRequest(PROMPT, max_tokens=500), CancelAfter(checks=5))


def test_cancel_from_another_thread_stops_quickly(tiny_model_dir: Path) -> None:
    g = make(tiny_model_dir)
    token = CancelToken()
    timer = threading.Timer(0.2, token.cancel)
    started = time.perf_counter()
    timer.start()
    with pytest.raises(GenerationCancelled):
        # no stop token can end this early: all special tokens are stop tokens, so ask for
        # many tokens from a prompt that the random model continues with ordinary ones
        for _ in range(1000):
            g.generate(GenerationRequest(PROMPT, max_tokens=1000), token)
    assert time.perf_counter() - started < 2.0


def test_a_cancelled_request_leaves_its_prefill_for_the_next(tiny_model_dir: Path) -> None:
    g = make(tiny_model_dir)
    with pytest.raises(GenerationCancelled):
        g.generate(GenerationRequest(LONG_PROMPT, max_tokens=50), CancelAfter(checks=3))
    result = g.generate(GenerationRequest(LONG_PROMPT + "x", max_tokens=2), CancelToken())
    assert result.cached_prompt_tokens >= g.count_tokens(LONG_PROMPT) - 1


def test_stop_string_cuts_the_text_before_it(gen: TransformersGenerator) -> None:
    full = gen.generate(GenerationRequest(PROMPT, max_tokens=24), CancelToken())
    assert len(full.text) >= 6, full
    stop = full.text[3:5]
    cut = full.text.index(stop)
    stopped = gen.generate(GenerationRequest(PROMPT, max_tokens=24, stop=(stop,)), CancelToken())
    assert stopped.text == full.text[:cut]
    assert stopped.finish_reason == "stop"
    assert stopped.completion_tokens <= full.completion_tokens


def test_max_tokens_limits_the_completion(gen: TransformersGenerator) -> None:
    result = gen.generate(GenerationRequest(PROMPT, max_tokens=3), CancelToken())
    assert result.completion_tokens <= 3
    if result.completion_tokens == 3:
        assert result.finish_reason == "length"
    zero = gen.generate(GenerationRequest(PROMPT, max_tokens=0), CancelToken())
    assert (zero.text, zero.completion_tokens, zero.finish_reason) == ("", 0, "length")


def test_timings_and_counts_are_reported(gen: TransformersGenerator) -> None:
    result = gen.generate(GenerationRequest(PROMPT + "# t\n", max_tokens=6), CancelToken())
    assert result.prompt_tokens == gen.count_tokens(PROMPT + "# t\n")
    assert result.seconds_prefill > 0
    assert result.seconds_decode >= 0


def test_seeded_sampling_is_reproducible(gen: TransformersGenerator) -> None:
    def sample(seed: int) -> str:
        request = GenerationRequest(PROMPT, max_tokens=16, temperature=1.0, seed=seed)
        return gen.generate(request, CancelToken()).text

    assert sample(1) == sample(1)
    assert len({sample(s) for s in range(4)}) > 1


def test_a_prompt_longer_than_the_context_is_an_error(gen: TransformersGenerator) -> None:
    with pytest.raises(GenerationError, match="context"):
        gen.generate(GenerationRequest("x = 1\n" * 3000, max_tokens=4), CancelToken())


def test_concurrent_requests_are_serialised(gen: TransformersGenerator) -> None:
    expected = greedy(gen, PROMPT)
    results: list[str] = []

    def work() -> None:
        results.append(greedy(gen, PROMPT))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected] * 4


def reference_healed_greedy(model_dir: Path, prompt: str, n: int) -> str:
    """Token healing by hand, no KV cache: drop the prompt's last token, pick the first
    new token among those extending its text, then plain greedy; the text after it."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model: Any = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    ids = tokenizer(prompt)["input_ids"]
    *kept, last = ids
    tail = tokenizer.decode([last])
    allowed = [
        i
        for i in range(len(tokenizer))
        if i not in tokenizer.all_special_ids and tokenizer.decode([i]).startswith(tail)
    ]
    new: list[int] = []
    with torch.inference_mode():
        for step in range(n):
            logits = model(input_ids=torch.tensor([kept + new])).logits[0, -1]
            if step == 0:
                token = allowed[int(torch.argmax(logits[allowed]))]
            else:
                token = int(torch.argmax(logits))
            if token in tokenizer.all_special_ids:
                break
            new.append(token)
    text: str = tokenizer.decode(kept + new)[len(tokenizer.decode(kept)) :]
    assert text.startswith(tail)
    return text[len(tail) :]


def test_token_healing_matches_a_by_hand_reference(
    gen: TransformersGenerator, tiny_model_dir: Path
) -> None:
    healed = gen.generate(GenerationRequest(PROMPT, max_tokens=10, heal=True), CancelToken())
    assert healed.text == reference_healed_greedy(tiny_model_dir, PROMPT, 10)
    plain = gen.generate(GenerationRequest(PROMPT, max_tokens=10), CancelToken())
    assert plain.text == reference_greedy(tiny_model_dir, None, PROMPT, 10)
    # the prompt ends with "\n" and the random model's favourite extension differs
    assert healed.text != plain.text
