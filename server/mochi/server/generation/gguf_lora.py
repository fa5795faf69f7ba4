"""A peft LoRA adapter folder as a GGUF LoRA file, so llama.cpp can apply it at run time.

Written in the layout llama.cpp's own `convert_lora_to_gguf.py` produces: general.type
"adapter", adapter.type "lora", adapter.lora.alpha, and for every adapted projection the
pair `<llama.cpp tensor name>.lora_a` / `.lora_b` with peft's shapes (A: rank × in,
B: out × rank). Llama models' q/k projections are stored by llama.cpp with their rows
permuted to its rotary layout, so lora_B of q_proj and k_proj gets the same permutation.
llama.cpp scales an adapter by alpha / rank, as peft does; rsLoRA's alpha / √rank is
written as an equivalent alpha. DoRA adapters and adapters of the embeddings or the LM
head cannot be expressed and are refused with a message.

The file is cached beside the adapter's weights (`adapter_model.gguf`) and rewritten when
the weights are newer; it is written to a temporary name and renamed into place.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from mochi.server.generation.types import GenerationError

WEIGHTS = "adapter_model.safetensors"
CONFIG = "adapter_config.json"
CACHED = "adapter_model.gguf"
PEFT_PREFIX = "base_model.model."
LLAMA_ARCHITECTURES = ("LlamaForCausalLM", "MistralForCausalLM")


def gguf_lora_for(adapter: Path, base_config: dict[str, Any]) -> Path:
    """A GGUF LoRA file for `adapter` (a `.gguf` file is used as it is; a peft folder is
    converted once). `base_config` is the base model's config.json as a dict."""
    if adapter.is_file() and adapter.suffix == ".gguf":
        return adapter
    weights = adapter / WEIGHTS
    if not weights.is_file():
        raise GenerationError(
            f"{adapter} is not a LoRA adapter for llama.cpp: expected a .gguf file or a peft "
            f"folder with {WEIGHTS} and {CONFIG}"
        )
    alpha = _lora_alpha(adapter)  # refuses what llama.cpp cannot apply, cached or not
    cached = adapter / CACHED
    newest = max(weights.stat().st_mtime, (adapter / CONFIG).stat().st_mtime)
    if cached.is_file() and cached.stat().st_mtime >= newest:
        return cached
    _convert(adapter, cached, base_config, alpha)
    return cached


def _convert(adapter: Path, out_file: Path, base_config: dict[str, Any], alpha: float) -> None:
    """Write the peft adapter in `adapter` to `out_file` as a GGUF LoRA."""
    import gguf

    architecture = (base_config.get("architectures") or ["?"])[0]
    if architecture not in LLAMA_ARCHITECTURES:
        raise GenerationError(
            f"the llama.cpp back end converts LoRA adapters of Llama-family models only; "
            f"the base is {architecture}: convert {adapter} with llama.cpp's "
            "convert_lora_to_gguf.py and configure the .gguf file"
        )
    tensors = _pairs(adapter / WEIGHTS, base_config)
    tmp = out_file.with_name(f".tmp-{out_file.name}")
    writer = gguf.GGUFWriter(str(tmp), "llama")
    try:
        writer.add_type(gguf.GGUFType.ADAPTER)
        writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
        writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, alpha)
        for name, data in tensors:
            writer.add_tensor(name, data.astype(np.float32))
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
    finally:
        writer.close()
    tmp.replace(out_file)


def _lora_alpha(adapter: Path) -> float:
    """The alpha llama.cpp must scale by, from adapter_config.json; an error for what one
    GGUF alpha cannot express."""
    path = adapter / CONFIG
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise GenerationError(f"cannot read {path}: {exc}") from exc
    if config.get("use_dora"):
        raise GenerationError(
            f"{adapter} is a DoRA adapter, which llama.cpp cannot apply: serve it with the "
            "transformers back end, or merge it (mochi trainer export --gguf)"
        )
    rank = int(config.get("r") or 8)
    alpha = float(config.get("lora_alpha") or rank)
    if config.get("use_rslora"):
        alpha = alpha * math.sqrt(rank)  # llama.cpp divides by rank; rsLoRA by √rank
    if config.get("rank_pattern") or config.get("alpha_pattern"):
        raise GenerationError(
            f"{adapter} has per-module ranks or alphas, which one GGUF alpha cannot express"
        )
    return alpha


def _pairs(weights: Path, base_config: dict[str, Any]) -> list[tuple[str, np.ndarray]]:
    """(llama.cpp name, array) for every lora_A / lora_B tensor, in file order."""
    import gguf
    from safetensors import safe_open

    blocks = int(base_config["num_hidden_layers"])
    heads = int(base_config["num_attention_heads"])
    kv_heads = int(base_config.get("num_key_value_heads") or heads)
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, blocks)
    pairs: list[tuple[str, np.ndarray]] = []
    with safe_open(str(weights), framework="pt") as handle:
        for key in handle.keys():  # noqa: SIM118 - safe_open has no __iter__
            module, _, part = key.removeprefix(PEFT_PREFIX).rpartition(".lora_")
            if part not in ("A.weight", "B.weight"):
                raise GenerationError(
                    f"{weights}: tensor {key!r} is not a lora_A/lora_B weight (adapters of "
                    "embeddings, biases or modules_to_save cannot be applied by llama.cpp)"
                )
            target = names.get_name(module)
            if target is None or not target.startswith("blk."):
                raise GenerationError(f"{weights}: llama.cpp has no tensor for {module!r}")
            data = handle.get_tensor(key).float().numpy()
            if part == "B.weight" and module.endswith("q_proj"):
                data = permute_rotary(data, heads)
            elif part == "B.weight" and module.endswith("k_proj"):
                data = permute_rotary(data, kv_heads)
            suffix = ".lora_a" if part == "A.weight" else ".lora_b"
            pairs.append((target + ".weight" + suffix, data))
    return pairs


def permute_rotary(rows: np.ndarray, heads: int) -> np.ndarray:
    """Hugging Face's rotary layout (halves) to llama.cpp's (interleaved pairs), per head:
    the permutation llama.cpp's converter applies to q/k projection rows."""
    return (
        rows.reshape(heads, 2, rows.shape[0] // heads // 2, *rows.shape[1:])
        .swapaxes(1, 2)
        .reshape(rows.shape)
    )
