"""backend = "auto" on the CPU: completions from llama.cpp, scoring and the token memory
from transformers on the same model, loaded only when first needed; the adapters reach
both. A tiny random Llama and its float32 GGUF, so both back ends give the same text."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("llama_cpp")

from mochi.server.config import MochiConfig, ModelConfig
from mochi.server.generation.cpu_backend import CpuGenerator
from mochi.server.generation.factory import make_generator
from mochi.server.generation.scoring import ScoreRequest, scorer_of
from mochi.server.generation.transformers_backend import TransformersGenerator
from mochi.server.generation.types import CancelToken, GenerationRequest
from mochi.server.memory.workspace_memory import memory_backend

pytestmark = [pytest.mark.slow]

PROMPT = "def mean(values):\n    total = sum(values)\n"


def config_for(model_dir: Path, gguf: Path, adapters: dict[str, Path], **kw: object) -> MochiConfig:
    model = ModelConfig(
        backend="auto",
        name=str(model_dir),
        gguf=str(gguf),
        dtype="float32",
        threads=1,
        adapters={name: str(path) for name, path in adapters.items()},
        **kw,  # type: ignore[arg-type]
    )
    return MochiConfig(model=model)


def test_auto_completes_with_llama_cpp_and_scores_with_transformers(
    tiny_model_dir: Path, tiny_gguf: Path, tiny_adapters: dict[str, Path], tmp_path: Path
) -> None:
    generator = make_generator(config_for(tiny_model_dir, tiny_gguf, tiny_adapters), tmp_path)
    assert isinstance(generator, CpuGenerator)
    assert generator.info().backend == "llama.cpp"
    reference = TransformersGenerator(
        str(tiny_model_dir),
        dtype="float32",
        adapters={name: str(path) for name, path in tiny_adapters.items()},
    )
    for adapter in (None, "alpha"):
        request = GenerationRequest(PROMPT, max_tokens=8, adapter=adapter)
        ours = generator.generate(request, CancelToken()).text
        assert ours == reference.generate(request, CancelToken()).text
    assert generator.current_memory() is None
    assert generator._full is None  # completing never loaded torch's copy of the model

    scorer = scorer_of(generator)
    assert scorer is not None
    request = ScoreRequest(text="    return total\n", context=PROMPT, adapter="beta")
    assert scorer.score(request, CancelToken()) == reference.score(request, CancelToken())

    # an adapter published later reaches both back ends
    generator.load_adapter("gamma", str(tiny_adapters["alpha"]))
    full = generator.full()
    assert "gamma" in generator.adapters() and "gamma" in full.adapters()
    memory_backend(generator)  # the token memory accepts it
    generator.close()


def test_auto_falls_back_to_transformers_without_a_gguf(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    config = MochiConfig(model=ModelConfig(backend="auto", name=str(tiny_model_dir)))
    generator = make_generator(config, tmp_path)
    assert isinstance(generator, TransformersGenerator)
    generator.close()


@pytest.mark.model
def test_the_gguf_of_the_default_model_is_the_wheels(smollm2_store: object) -> None:
    from mochi.server.generation.factory import resolve_gguf
    from mochi.server.models import DEFAULT_MODEL_NAME, packaged_gguf

    folder = smollm2_store.path(DEFAULT_MODEL_NAME)  # type: ignore[attr-defined]
    for name in ("", str(folder)):  # the default, and its folder as `mochi eval` names it
        assert resolve_gguf(MochiConfig(model=ModelConfig(name=name))) == packaged_gguf()


def test_a_model_without_a_gguf_is_an_error_that_says_what_to_do(tiny_model_dir: Path) -> None:
    from mochi.server.generation.factory import resolve_gguf
    from mochi.server.generation.types import GenerationError

    with pytest.raises(GenerationError, match="gguf"):
        resolve_gguf(MochiConfig(model=ModelConfig(name=str(tiny_model_dir))))


def test_health_reports_the_memory_of_the_transformers_side(
    tiny_model_dir: Path, tiny_gguf: Path, tmp_path: Path
) -> None:
    generator = make_generator(config_for(tiny_model_dir, tiny_gguf, {}), tmp_path)
    assert isinstance(generator, CpuGenerator)
    assert generator.health().extra["memory_tokens"] == "0"
    assert generator._full is None  # asking for health loads nothing
    generator.close()
