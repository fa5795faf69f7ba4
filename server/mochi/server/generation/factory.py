"""Build the configured generation back end (imports heavy modules lazily)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mochi.rag.paths import data_dir
from mochi.server.config import MochiConfig
from mochi.server.generation.types import GenerationError, Generator

if TYPE_CHECKING:
    from mochi.server.generation.llamacpp_backend import LlamaCppGenerator
    from mochi.server.generation.transformers_backend import TransformersGenerator


def resolve_model_dir(config: MochiConfig) -> Path:
    """config.model.name: '' = the packaged SmolLM2-135M, a folder, or a model-store name."""
    from mochi.server.models import ModelStore

    store = ModelStore(data_dir(config.data_dir))
    name = config.model.name
    if not name:
        return store.default_model()
    folder = Path(name).expanduser()
    if folder.is_dir():
        return folder
    return store.path(name)


def resolve_gguf(config: MochiConfig) -> Path:
    """The GGUF file the llama.cpp back end loads: model.gguf, else the model's own (the
    packaged SmolLM2-135M's, a `.gguf` path, or the file a store model was imported from)."""
    from mochi.server.models import ModelStoreError, packaged_gguf
    from mochi.server.models.store import model_source

    model = config.model
    if model.gguf:
        return Path(model.gguf).expanduser()
    if not model.name:
        return packaged_gguf()
    named = Path(model.name).expanduser()
    if named.suffix.lower() == ".gguf":
        return named
    try:
        folder = named if named.is_dir() else resolve_model_dir(config)
    except ModelStoreError as exc:
        raise GenerationError(str(exc)) from exc
    source = model_source(folder)
    if source.startswith("gguf:") and Path(source.removeprefix("gguf:")).is_file():
        return Path(source.removeprefix("gguf:"))
    raise GenerationError(
        f"the llama.cpp back end needs a GGUF file and model {model.name!r} has none: set "
        '[model] gguf = "FILE.gguf", or write one with `mochi trainer export --gguf`'
    )


def make_generator(config: MochiConfig, root: Path) -> Generator:
    model = config.model
    if model.backend == "auto":
        gguf = _gguf_for_auto(config)
        return _cpu_generator(config, gguf) if gguf is not None else _transformers(config)
    if model.backend == "llama.cpp":
        return _llama_cpp(config, resolve_gguf(config))
    if model.backend == "vllm":
        from mochi.server.generation.vllm_backend import VllmGenerator

        return VllmGenerator(
            model.vllm_url,
            model=model.vllm_model or model.name or "default",
            fim_template=model.fim_template or None,
        )
    if model.backend == "openai":
        from mochi.server.generation.openai_backend import OpenAICompletionGenerator, api_key_from

        return OpenAICompletionGenerator(
            model.openai_url,
            model=model.openai_model,
            api_key=api_key_from(model.openai_api_key_env),
            fim=model.openai_fim,
            fim_template=model.fim_template or None,
            adapters=tuple(model.adapters),
        )
    return _transformers(config)


def _gguf_for_auto(config: MochiConfig) -> Path | None:
    """backend = "auto": the GGUF llama.cpp completes with when it is installed, the
    device is the CPU and the model has one; None (transformers alone) otherwise."""
    import importlib.util

    if config.model.device != "cpu" or importlib.util.find_spec("llama_cpp") is None:
        return None
    try:
        gguf = resolve_gguf(config)
    except GenerationError:
        return None
    return gguf if gguf.is_file() else None


def _cpu_generator(config: MochiConfig, gguf: Path) -> Generator:
    from mochi.server.generation.cpu_backend import CpuGenerator

    def load_full(adapters: dict[str, str]) -> TransformersGenerator:
        return _transformers(config, adapters)

    return CpuGenerator(_llama_cpp(config, gguf), load_full, dict(config.model.adapters))


def _llama_cpp(config: MochiConfig, gguf: Path) -> LlamaCppGenerator:
    from mochi.server.generation.llamacpp_backend import LlamaCppGenerator

    model = config.model
    return LlamaCppGenerator(
        str(gguf),
        adapters=dict(model.adapters),
        threads=model.threads or None,
        fim_template=model.fim_template or None,
        prefix_cache=model.prefix_cache,
        prefill=model.prefill,
    )


def _transformers(
    config: MochiConfig, adapters: dict[str, str] | None = None
) -> TransformersGenerator:
    model = config.model
    try:
        from mochi.server.generation.transformers_backend import TransformersGenerator
    except ImportError as exc:  # pragma: no cover - core dependencies
        raise GenerationError(
            f"the transformers back end needs: pip install mochi ({exc})"
        ) from exc
    return TransformersGenerator(
        str(resolve_model_dir(config)),
        device=model.device,
        dtype=model.dtype,
        adapters=dict(model.adapters if adapters is None else adapters),
        trust_remote_code=model.trust_remote_code,
        fim_template=model.fim_template or None,
        prefix_cache_size=4 if model.prefix_cache else 0,
        quantization=model.quantization,
    )
