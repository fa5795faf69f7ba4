"""Which modules LoRA adapts, per architecture (`config.model_type`)."""

from __future__ import annotations

from typing import Any

_DECODER_PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")

ARCHITECTURE_TARGETS: dict[str, tuple[str, ...]] = {
    **{
        name: _DECODER_PROJECTIONS
        for name in (
            "llama",
            "mistral",
            "mixtral",
            "qwen2",
            "qwen2_moe",
            "qwen3",
            "gemma",
            "gemma2",
            "gemma3_text",
            "granite",
            "olmo",
            "olmo2",
            "deepseek_v2",
        )
    },
    "gpt2": ("c_attn", "c_proj", "c_fc"),
    "gpt_bigcode": ("c_attn", "c_proj", "c_fc"),
    "starcoder2": ("q_proj", "k_proj", "v_proj", "o_proj", "c_fc", "c_proj"),
    "phi": ("q_proj", "k_proj", "v_proj", "dense", "fc1", "fc2"),
    "phi3": ("qkv_proj", "o_proj", "gate_up_proj", "down_proj"),
    "gpt_neox": ("query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"),
    "falcon": ("query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"),
}


def target_modules_for(model: Any) -> tuple[str, ...]:
    """The known projections of the model's architecture; otherwise the full name of every
    `nn.Linear` except the LM head."""
    from torch import nn

    model_type = getattr(getattr(model, "config", None), "model_type", "")
    if model_type in ARCHITECTURE_TARGETS:
        return ARCHITECTURE_TARGETS[model_type]
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    names = tuple(
        name
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear) and module is not head
    )
    if not names:
        raise ValueError(f"no nn.Linear to adapt in a {type(model).__name__}")
    return names
