"""What the llama.cpp back end needs besides decoding: the library, with a hint when it is
missing, a model loaded from a file, and the base model's shape read from the GGUF's
metadata (for LoRA conversion)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mochi.server.generation.types import GenerationError

LLAMA_CPP_HINT = (
    "pip install 'mochi[llamacpp]' (llama-cpp-python; it compiles llama.cpp, a few "
    'minutes), or set [model] backend = "transformers"'
)


def import_llama() -> Any:
    """The `llama_cpp` module, or a GenerationError that says how to install it."""
    try:
        import llama_cpp
    except ImportError as exc:
        raise GenerationError(
            f"the llama.cpp back end needs llama-cpp-python: {LLAMA_CPP_HINT}"
        ) from exc
    return llama_cpp


def load_llama(lib: Any, path: Path, *, context_length: int, batch_size: int, threads: int) -> Any:
    """A `llama_cpp.Llama` over `path` (logits of the last token only, quiet), or a
    GenerationError that names the file."""
    try:
        return lib.Llama(
            model_path=str(path),
            n_ctx=context_length,
            n_batch=batch_size,
            n_threads=threads,
            n_threads_batch=threads,
            logits_all=False,
            verbose=False,
        )
    except Exception as exc:  # llama-cpp-python raises ValueError on a bad file
        raise GenerationError(f"llama.cpp cannot load {path}: {exc}") from exc


def load_lora(lib: Any, model: Any, gguf: Path) -> Any:
    """A LoRA adapter handle for `model` from a GGUF LoRA file (free it with
    `llama_adapter_lora_free`), or a GenerationError."""
    handle = lib.llama_adapter_lora_init(model, str(gguf).encode())
    if not handle:
        raise GenerationError(f"llama.cpp cannot load the LoRA adapter {gguf}")
    return handle


def base_config_of(metadata: Mapping[str, str]) -> dict[str, Any]:
    """The config.json fields LoRA conversion reads, from a GGUF's metadata."""
    architecture = metadata.get("general.architecture", "")
    if architecture != "llama":
        return {"architectures": [architecture or "unknown"]}
    heads = int(metadata.get("llama.attention.head_count", "0"))
    return {
        "architectures": ["LlamaForCausalLM"],
        "num_hidden_layers": int(metadata.get("llama.block_count", "0")),
        "num_attention_heads": heads,
        "num_key_value_heads": int(metadata.get("llama.attention.head_count_kv", str(heads))),
    }
