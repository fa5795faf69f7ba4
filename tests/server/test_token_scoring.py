"""TransformersGenerator.score on the tiny random Llama: the log-probabilities a plain
forward pass gives, per token of the scored text, with adapters and windows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mochi.server.generation.scoring import ScoreRequest, scorer_of
from mochi.server.generation.transformers_backend import TransformersGenerator
from mochi.server.generation.types import CancelToken, GenerationCancelled
from tests.server.test_transformers_backend import CancelAfter

CONTEXT = "def mean(values):\n"
TEXT = "    total = sum(values)\n    return total / len(values)\n"


def reference(model_dir: Path, context: str, text: str, adapter: Path | None = None) -> list[float]:
    """log p(token | all before) from one forward pass over the whole string."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model: Any = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    if adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter)
    enc = tokenizer(context + text, add_special_tokens=False, return_offsets_mapping=True)
    ids = enc["input_ids"]
    first = next(i for i, (_, end) in enumerate(enc["offset_mapping"]) if end > len(context))
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids])).logits[0].float()
    logprobs = torch.log_softmax(logits, dim=-1)
    return [float(logprobs[t - 1, ids[t]]) for t in range(first, len(ids))]


@pytest.fixture(scope="module")
def generator(tiny_model_dir: Path, tiny_adapters: dict[str, Path]) -> TransformersGenerator:
    return TransformersGenerator(
        str(tiny_model_dir),
        dtype="float32",
        adapters={name: str(path) for name, path in tiny_adapters.items()},
    )


def test_scores_are_the_forward_pass_log_probabilities(
    generator: TransformersGenerator, tiny_model_dir: Path
) -> None:
    scores = generator.score(ScoreRequest(TEXT, context=CONTEXT), CancelToken())
    expected = reference(tiny_model_dir, CONTEXT, TEXT)
    assert scores.logprobs == pytest.approx(expected, abs=1e-4)
    assert scores.offsets[0] == 0 and list(scores.offsets) == sorted(scores.offsets)
    assert all(lp <= 0 for lp in scores.logprobs)
    assert scores.mean() == pytest.approx(sum(expected) / len(expected), abs=1e-4)
    assert scorer_of(generator) is generator


def test_an_adapter_changes_the_scores_as_peft_does(
    generator: TransformersGenerator, tiny_model_dir: Path, tiny_adapters: dict[str, Path]
) -> None:
    name, path = next(iter(tiny_adapters.items()))
    adapted = generator.score(ScoreRequest(TEXT, CONTEXT, adapter=name), CancelToken())
    base = generator.score(ScoreRequest(TEXT, CONTEXT), CancelToken())
    assert adapted.logprobs == pytest.approx(
        reference(tiny_model_dir, CONTEXT, TEXT, path), abs=1e-4
    )
    assert adapted.logprobs != pytest.approx(base.logprobs, abs=1e-3)
    assert adapted.adapter == name


def test_a_text_alone_is_scored_from_the_first_token(generator: TransformersGenerator) -> None:
    scores = generator.score(ScoreRequest(TEXT), CancelToken())
    tokens = generator.count_tokens(TEXT)
    assert len(scores.logprobs) == tokens  # the EOS put in front predicts the first one


def test_a_long_text_is_read_in_windows(tiny_model_dir: Path) -> None:
    long_text = "".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(40))
    whole = TransformersGenerator(str(tiny_model_dir), dtype="float32", scoring_window=2048)
    windowed = TransformersGenerator(str(tiny_model_dir), dtype="float32", scoring_window=64)
    a = whole.score(ScoreRequest(long_text), CancelToken())
    b = windowed.score(ScoreRequest(long_text), CancelToken())
    assert len(a.logprobs) == len(b.logprobs) == whole.count_tokens(long_text)
    assert a.offsets == b.offsets
    # The first window's tokens see the same history; later ones see less of it.
    assert b.logprobs[:32] == pytest.approx(a.logprobs[:32], abs=1e-4)
    assert b.logprobs != pytest.approx(a.logprobs, abs=1e-4)


def test_scoring_is_cancelled_between_windows(tiny_model_dir: Path) -> None:
    gen = TransformersGenerator(str(tiny_model_dir), dtype="float32", scoring_window=16)
    with pytest.raises(GenerationCancelled):
        gen.score(ScoreRequest(TEXT * 4), CancelAfter(3))
