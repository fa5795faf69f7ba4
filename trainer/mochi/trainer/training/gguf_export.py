"""A Llama-family model folder (safetensors + tokenizer.json) as one GGUF file, for
llama.cpp, Ollama and LM Studio.

Written with the `gguf` package's writer in the layout llama.cpp's own
`convert_hf_to_gguf.py` produces for Llama models: the same metadata keys,
tensor names from `gguf.TensorNameMap`, the q/k projection rows permuted to
llama.cpp's rotary layout, the byte-level BPE vocabulary and merges. Weights are
F16 (or F32); norms stay F32. Quantise further with llama.cpp's `llama-quantize`.
Other architectures get an error that points at llama.cpp's converter.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import numpy as np

from mochi.trainer.training.params import TrainingError

LLAMA_ARCHITECTURES = ("LlamaForCausalLM", "MistralForCausalLM")
GgufDtype = Literal["f16", "f32"]
# gguf's token types
_NORMAL, _CONTROL, _USER_DEFINED = 1, 3, 4


def export_gguf(model_dir: Path, out_file: Path, *, dtype: GgufDtype = "f16") -> Path:
    """Write `model_dir` (a merged model: config.json, *.safetensors, tokenizer.json) to
    `out_file`, through a temporary file renamed into place."""
    import gguf

    config = _read_json(model_dir / "config.json")
    architecture = (config.get("architectures") or ["?"])[0]
    if architecture not in LLAMA_ARCHITECTURES:
        raise TrainingError(
            f"GGUF export supports Llama-family models ({', '.join(LLAMA_ARCHITECTURES)}); "
            f"{model_dir} is {architecture}: use llama.cpp's convert_hf_to_gguf.py on the "
            "merged folder instead"
        )
    tensors = _load_safetensors(model_dir)
    tmp = out_file.with_name(f".tmp-{out_file.name}")
    out_file.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(tmp), "llama")
    try:
        _write_hparams(writer, config, dtype, model_dir.name)
        _write_tokenizer(writer, model_dir)
        _write_tensors(writer, config, tensors, dtype)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
    finally:
        writer.close()
    tmp.replace(out_file)
    return out_file


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise TrainingError(f"{path} is missing: GGUF export needs a saved model folder")
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise TrainingError(f"{path} is not a JSON object")
    return data


def _load_safetensors(model_dir: Path) -> dict[str, np.ndarray]:
    from safetensors import safe_open

    files = sorted(model_dir.glob("*.safetensors"))
    if not files:
        raise TrainingError(f"no *.safetensors in {model_dir}: merge the adapter first")
    tensors: dict[str, np.ndarray] = {}
    for file in files:
        with safe_open(str(file), framework="pt") as handle:
            for name in handle.keys():  # noqa: SIM118 - safe_open has no __iter__
                tensors[name] = handle.get_tensor(name).float().numpy()
    return tensors


def _write_hparams(writer: Any, config: dict[str, Any], dtype: GgufDtype, name: str) -> None:
    import gguf

    heads = int(config["num_attention_heads"])
    hidden = int(config["hidden_size"])
    writer.add_name(name)
    writer.add_block_count(int(config["num_hidden_layers"]))
    writer.add_context_length(int(config.get("max_position_embeddings", 2048)))
    writer.add_embedding_length(hidden)
    writer.add_feed_forward_length(int(config["intermediate_size"]))
    writer.add_head_count(heads)
    writer.add_head_count_kv(int(config.get("num_key_value_heads") or heads))
    writer.add_rope_freq_base(float(config.get("rope_theta", 10000.0)))
    writer.add_layer_norm_rms_eps(float(config.get("rms_norm_eps", 1e-6)))
    writer.add_vocab_size(int(config["vocab_size"]))
    writer.add_rope_dimension_count(int(config.get("head_dim") or hidden // heads))
    file_type = gguf.LlamaFileType.MOSTLY_F16 if dtype == "f16" else gguf.LlamaFileType.ALL_F32
    writer.add_file_type(file_type)


def _write_tokenizer(writer: Any, model_dir: Path) -> None:
    """Byte-level BPE from tokenizer.json: tokens by id, their types, the merges."""
    spec = _read_json(model_dir / "tokenizer.json")
    model = spec.get("model") or {}
    if model.get("type") != "BPE":
        raise TrainingError(
            f"GGUF export supports byte-level BPE tokenizers; {model_dir} has "
            f"{model.get('type')!r}: use llama.cpp's convert_hf_to_gguf.py instead"
        )
    vocab: dict[str, int] = dict(model.get("vocab") or {})
    added = {t["content"]: t for t in spec.get("added_tokens") or []}
    for content, token in added.items():
        vocab.setdefault(content, int(token["id"]))
    size = max(vocab.values()) + 1
    tokens = [f"[PAD{i}]" for i in range(size)]
    types = [_USER_DEFINED] * size  # ids the tokenizer leaves unused stay placeholders
    for content, index in vocab.items():
        tokens[index] = content
        token = added.get(content)
        if token is None:
            types[index] = _NORMAL
        else:
            types[index] = _CONTROL if token["special"] else _USER_DEFINED
    merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges") or []]
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(_pre_tokenizer(spec.get("pre_tokenizer")))
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    settings = _read_optional_json(model_dir / "tokenizer_config.json")
    for key, add in (
        ("bos_token", writer.add_bos_token_id),
        ("eos_token", writer.add_eos_token_id),
        ("unk_token", writer.add_unk_token_id),
        ("pad_token", writer.add_pad_token_id),
    ):
        content = settings.get(key)
        if isinstance(content, dict):
            content = content.get("content")
        if isinstance(content, str) and content in vocab:
            add(vocab[content])
    writer.add_add_bos_token(bool(settings.get("add_bos_token", False)))
    if isinstance(settings.get("chat_template"), str):
        writer.add_chat_template(settings["chat_template"])


def _pre_tokenizer(spec: Any) -> str:
    """llama.cpp's name for the way tokenizer.json splits text before BPE: GPT-2's regex
    for a plain byte-level pre-tokenizer (llama.cpp's "default" splits differently, so
    that "\\n    " would become two tokens where transformers makes one)."""
    if isinstance(spec, dict) and spec.get("type") == "ByteLevel" and spec.get("use_regex", True):
        return "gpt-2"
    return "default"


def _read_optional_json(path: Path) -> dict[str, Any]:
    return _read_json(path) if path.is_file() else {}


def _write_tensors(
    writer: Any, config: dict[str, Any], tensors: dict[str, np.ndarray], dtype: GgufDtype
) -> None:
    import gguf

    blocks = int(config["num_hidden_layers"])
    heads = int(config["num_attention_heads"])
    kv_heads = int(config.get("num_key_value_heads") or heads)
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, blocks)
    tied = bool(config.get("tie_word_embeddings", False))
    for hf_name, data in tensors.items():
        if hf_name.endswith("rotary_emb.inv_freq") or (tied and hf_name == "lm_head.weight"):
            continue
        if hf_name.endswith("q_proj.weight"):
            data = _permute(data, heads)
        elif hf_name.endswith("k_proj.weight"):
            data = _permute(data, kv_heads)
        name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if name is None:
            raise TrainingError(f"GGUF export: no llama.cpp name for tensor {hf_name!r}")
        keep_f32 = dtype == "f32" or data.ndim == 1
        writer.add_tensor(name, data.astype(np.float32 if keep_f32 else np.float16))


def _permute(weights: np.ndarray, heads: int) -> np.ndarray:
    """Hugging Face's rotary layout (halves) to llama.cpp's (interleaved pairs), per head."""
    return (
        weights.reshape(heads, 2, weights.shape[0] // heads // 2, *weights.shape[1:])
        .swapaxes(1, 2)
        .reshape(weights.shape)
    )
