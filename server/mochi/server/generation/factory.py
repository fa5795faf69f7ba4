"""Build the configured generation back end (imports heavy modules lazily)."""

from __future__ import annotations

from pathlib import Path

from mochi.rag.paths import data_dir
from mochi.server.config import MochiConfig
from mochi.server.generation.types import GenerationError, Generator


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


def make_generator(config: MochiConfig, root: Path) -> Generator:
    model = config.model
    if model.backend == "vllm":
        from mochi.server.generation.vllm_backend import VllmGenerator

        return VllmGenerator(
            model.vllm_url,
            model=model.vllm_model or model.name or "default",
            fim_template=model.fim_template or None,
        )
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
        adapters=dict(model.adapters),
        trust_remote_code=model.trust_remote_code,
        fim_template=model.fim_template or None,
        prefix_cache_size=4 if model.prefix_cache else 0,
    )
