"""A model ready to train for a strategy: device, precision, LoRA/DoRA/QLoRA or full."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mochi.trainer.training.params import Strategy, TrainingError, TrainParams
from mochi.trainer.training.targets import target_modules_for

GPU_EXTRA_HINT = "install the `gpu` extra on an NVIDIA machine: pip install 'mochi[gpu]'"


@dataclass(frozen=True, slots=True)
class Placement:
    device: str  # "cuda" or "cpu"
    bf16: bool  # autocast to bfloat16 (and LoRA bases are loaded in bfloat16)


def placement(params: TrainParams) -> Placement:
    """`precision="auto"`: bf16 on a CUDA device that supports it, fp32 otherwise."""
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    if params.precision == "auto":
        bf16 = device == "cuda" and torch.cuda.is_bf16_supported()
    else:
        bf16 = params.precision == "bf16"
    return Placement(device=device, bf16=bf16)


def check_available(params: TrainParams) -> None:
    """Fail early, with what to install, when the strategy needs what is not here."""
    import importlib.util

    import torch

    if params.strategy == Strategy.QLORA:
        if not torch.cuda.is_available():
            raise TrainingError(
                "QLoRA (4-bit bitsandbytes) needs a CUDA device and none is available; "
                f"use strategy 'lora' on this machine, or {GPU_EXTRA_HINT}"
            )
        if importlib.util.find_spec("bitsandbytes") is None:
            raise TrainingError(
                f"QLoRA needs bitsandbytes, which is not installed; {GPU_EXTRA_HINT}"
            )
    if params.deepspeed and importlib.util.find_spec("deepspeed") is None:
        raise TrainingError(
            f"deepspeed={params.deepspeed!r} needs DeepSpeed, which is not installed; "
            f"{GPU_EXTRA_HINT}"
        )
    if params.deepspeed and importlib.util.find_spec("accelerate") is None:
        raise TrainingError("deepspeed needs accelerate: pip install 'mochi[trainer]'")


def load_tokenizer(model_dir: Path, *, trust_remote_code: bool = False) -> Any:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir, trust_remote_code=trust_remote_code)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_for_training(
    model_dir: Path,
    params: TrainParams,
    where: Placement,
    *,
    previous_adapter: Path | None = None,
    trust_remote_code: bool = False,
) -> Any:
    """The model to train: a peft model (LoRA, DoRA, QLoRA) or the whole model (full).

    With `previous_adapter`, training continues from it: a peft adapter folder for the
    LoRA strategies (its own LoRA config is kept), a full model folder for `full`.
    """
    import torch
    from transformers import AutoModelForCausalLM

    source = previous_adapter if previous_adapter and not params.uses_lora else model_dir
    kwargs: dict[str, Any] = {"trust_remote_code": trust_remote_code}
    if params.strategy == Strategy.QLORA:
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(  # type: ignore[no-untyped-call]
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16 if where.bf16 else torch.float32,
        )
        kwargs["device_map"] = {"": 0}
    elif params.uses_lora and where.bf16:
        kwargs["dtype"] = torch.bfloat16  # frozen base in bf16; peft keeps adapters in fp32
    else:
        kwargs["dtype"] = torch.float32
    try:
        model: Any = AutoModelForCausalLM.from_pretrained(source, **kwargs)
    except (OSError, ValueError) as exc:
        raise TrainingError(f"cannot load the model from {source}: {exc}") from exc
    model.config.use_cache = False

    if params.strategy == Strategy.QLORA:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(  # type: ignore[no-untyped-call]
            model, use_gradient_checkpointing=params.gradient_checkpointing
        )
    if params.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if params.uses_lora:
        model = _with_lora(model, params, previous_adapter)
    if params.strategy != Strategy.QLORA and not params.deepspeed:
        model.to(where.device)
    return model


def _with_lora(model: Any, params: TrainParams, previous_adapter: Path | None) -> Any:
    from peft import LoraConfig, PeftModel, get_peft_model

    if previous_adapter is not None:
        try:
            load: Any = PeftModel.from_pretrained
            return load(model, str(previous_adapter), is_trainable=True)
        except (OSError, ValueError) as exc:
            raise TrainingError(
                f"cannot load the previous adapter {previous_adapter}: {exc}"
            ) from exc
    config = LoraConfig(
        r=params.rank,
        lora_alpha=params.alpha,
        lora_dropout=params.dropout,
        target_modules=list(params.target_modules or target_modules_for(model)),
        use_dora=params.strategy == Strategy.DORA,
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)


def trainable_parameters(model: Any) -> dict[str, Any]:
    """name → parameter, for the parameters the optimizer updates (in model order)."""
    return {name: p for name, p in model.named_parameters() if p.requires_grad}
