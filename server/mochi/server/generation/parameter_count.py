"""How many parameters a model folder holds, read without loading its weights.

First choice: the safetensors headers (a few kilobytes at the start of each file name
every tensor's shape), which give the exact count. Otherwise an estimate from
config.json's shapes (embeddings, attention with grouped KV heads, a gated MLP, experts),
within a few percent for Llama-, Qwen- and Mistral-style decoders.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path
from typing import Any

# A safetensors header longer than this is not one (the format caps it at 100 MB).
MAX_HEADER_BYTES = 100_000_000


def parameter_count(model_dir: str | Path) -> int | None:
    """The number of parameters in `model_dir`; None when neither its safetensors
    nor its config.json tell."""
    folder = Path(model_dir).expanduser()
    counted = safetensors_parameters(folder)
    if counted:
        return counted
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return estimate_from_config(config) if isinstance(config, dict) else None


def safetensors_parameters(folder: Path) -> int:
    """The sum of the tensors' sizes named in the headers of `folder/*.safetensors`
    (0 when there are none or a header cannot be read)."""
    total = 0
    for file in sorted(folder.glob("*.safetensors")):
        try:
            with file.open("rb") as handle:
                (length,) = struct.unpack("<Q", handle.read(8))
                if length > MAX_HEADER_BYTES:
                    return 0
                header = json.loads(handle.read(length))
        except (OSError, ValueError, struct.error):
            return 0
        for name, entry in header.items():
            if name != "__metadata__" and isinstance(entry, dict):
                total += math.prod(int(n) for n in entry.get("shape", ()))
    return total


def estimate_from_config(config: dict[str, Any]) -> int | None:
    """Parameters of a decoder-only transformer from its config.json shapes; None when
    the shapes it needs are missing."""
    config = config.get("text_config", config)  # multimodal configs nest the decoder's
    hidden = _first(config, "hidden_size", "n_embd", "d_model")
    layers = _first(config, "num_hidden_layers", "n_layer", "num_layers")
    vocab = _first(config, "vocab_size")
    if not (hidden and layers and vocab):
        return None
    heads = _first(config, "num_attention_heads", "n_head") or 1
    kv_heads = _first(config, "num_key_value_heads") or heads
    head_dim = _first(config, "head_dim") or hidden // heads
    intermediate = _first(config, "intermediate_size", "n_inner") or 4 * hidden
    experts = _first(config, "num_local_experts", "num_experts", "n_routed_experts") or 1
    expert_size = _first(config, "moe_intermediate_size") or intermediate

    attention = hidden * heads * head_dim * 2 + hidden * kv_heads * head_dim * 2
    mlp = 3 * hidden * (expert_size * experts if experts > 1 else intermediate)
    norms = 2 * hidden
    embeddings = vocab * hidden * (1 if config.get("tie_word_embeddings", True) else 2)
    return embeddings + layers * (attention + mlp + norms) + hidden


def _first(config: dict[str, Any], *keys: str) -> int:
    for key in keys:
        value = config.get(key)
        if isinstance(value, int) and value > 0:
            return value
    return 0
