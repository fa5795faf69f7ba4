"""Dequantising a GGUF file into a plain Hugging Face model folder (done once, at import)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from mochi.server.models.errors import ModelStoreError

INSTALL_HINT = "pip install mochi (torch, transformers and gguf are core dependencies)"


def dequantise_gguf(gguf_file: Path, out_dir: Path, *, dtype: str = "bfloat16") -> None:
    """Load `gguf_file` with transformers (which dequantises it) and save model and tokenizer
    to `out_dir` as safetensors. Takes ~40 s for SmolLM2-135M on two cores, mostly spent
    parsing the file's metadata."""
    for module in ("torch", "transformers", "gguf"):
        if importlib.util.find_spec(module) is None:
            raise ModelStoreError(f"importing a GGUF file needs {module}: {INSTALL_HINT}")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf_file.parent), gguf_file.name
    try:
        model = AutoModelForCausalLM.from_pretrained(
            folder, gguf_file=name, dtype=getattr(torch, dtype), **_dequantise_kwargs()
        )
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    except Exception as exc:
        raise ModelStoreError(f"cannot read {gguf_file} as a GGUF model: {exc}") from exc
    if getattr(model, "hf_quantizer", None) is not None:
        raise ModelStoreError(
            f"transformers kept the weights of {gguf_file} quantised, so they cannot be saved "
            "as a plain model; try another transformers version"
        )
    model.config.name_or_path = ""  # not the temporary folder it was read from
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)


def _dequantise_kwargs() -> dict[str, Any]:
    """Newer transformers keep GGUF blocks packed unless told to dequantise; older ones
    always dequantise and have no `GgufConfig`."""
    try:
        from transformers import GgufConfig
    except ImportError:
        return {}
    return {"quantization_config": GgufConfig(dequantize=True)}
