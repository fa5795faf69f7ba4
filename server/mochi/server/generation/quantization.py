"""How the transformers back end loads a model, chosen by its size (`model.quantization`).

"auto": 4-bit (nf4) above FOUR_BIT_ABOVE parameters, 8-bit above EIGHT_BIT_ABOVE, the
configured dtype (bf16 by default) below. Quantized loading is bitsandbytes', which needs
CUDA: without it "auto" says so and loads the dtype, while an explicit "8bit"/"4bit" is
an error. Weights that do not fit the GPU are spread by accelerate (`device_map="auto"`)
over the GPU and CPU memory (CPU offload); weights that fit nowhere are an error that
says how much memory they need.

`load_plan` is pure (tests give it the hardware); `plan_for` reads the hardware and the
model folder, and `from_pretrained_options` turns a plan into `from_pretrained` keywords.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from typing import Any, Literal, get_args

from mochi.server.generation.parameter_count import parameter_count
from mochi.server.generation.types import GenerationError

Quantization = Literal["auto", "none", "8bit", "4bit"]
QUANTIZATIONS: tuple[str, ...] = get_args(Quantization)
FOUR_BIT_ABOVE = 20_000_000_000
EIGHT_BIT_ABOVE = 7_000_000_000
# Weights may take this share of free memory; the rest is for the KV cache and activations.
FIT_SHARE = 0.85
GIB = 1024**3
DTYPE_BYTES = {"bfloat16": 2.0, "float16": 2.0, "float32": 4.0, "auto": 2.0}
BITSANDBYTES_HINT = "pip install bitsandbytes (on a machine with an NVIDIA GPU)"


@dataclass(frozen=True, slots=True)
class LoadPlan:
    bits: int  # 16: the configured dtype; 8: int8; 4: nf4
    device_map: str | None  # None: load, then .to(device); "auto": accelerate places layers
    cpu_offload: bool  # some layers stay in CPU memory (slower, but it runs)
    weight_bytes: int  # the weights' size at those bits
    note: str  # why: one line for the log


def load_plan(
    parameters: int | None,
    *,
    device: str,
    quantization: Quantization = "auto",
    bytes_per_parameter: float = 2.0,
    gpu: bool = False,
    bitsandbytes: bool = False,
    accelerator_memory: int | None = None,
    cpu_memory: int | None = None,
) -> LoadPlan:
    """The plan for a model of `parameters` (None: unknown, loaded as configured) on
    `device`. `bytes_per_parameter` is the unquantized dtype's; `gpu`: the device is a
    CUDA GPU torch can use; `bitsandbytes`: it imports; the memories are the free bytes
    (None: unknown, assumed enough)."""
    if quantization not in QUANTIZATIONS:
        raise GenerationError(f"quantization must be one of {list(QUANTIZATIONS)}")
    bits, note = _bits(parameters, quantization)
    if bits < 16 and not (gpu and bitsandbytes):
        missing = "bitsandbytes" if gpu else f"a CUDA GPU (the device is {device!r})"
        if quantization != "auto":
            raise GenerationError(
                f"model.quantization = {quantization!r} needs CUDA and bitsandbytes, and "
                f"{missing} is not available: {BITSANDBYTES_HINT}, or quantization = 'none'"
            )
        note = f"{note}, but {bits}-bit loading needs {missing}: loading the dtype instead"
        bits = 16
    count = parameters or 0
    weight_bytes = int(count * (bytes_per_parameter if bits == 16 else bits / 8))
    quantized = bits < 16
    if not gpu:
        _require_fit(weight_bytes, cpu_memory, "free memory", note)
        return LoadPlan(bits, None, False, weight_bytes, note)
    if _fits(weight_bytes, accelerator_memory):
        return LoadPlan(bits, "auto" if quantized else None, False, weight_bytes, note)
    both = None if cpu_memory is None else (accelerator_memory or 0) + cpu_memory
    _require_fit(weight_bytes, both, "free GPU and CPU memory together", note)
    return LoadPlan(bits, "auto", True, weight_bytes, f"{note}; some layers offloaded to CPU")


def plan_for(model_dir: str, *, device: str, dtype: str, quantization: Quantization) -> LoadPlan:
    """The plan for the model in `model_dir` on this machine."""
    gpu_memory = _free_gpu_memory(device) if device.startswith("cuda") else None
    gpu = gpu_memory is not None
    return load_plan(
        parameter_count(model_dir),
        device=device,
        quantization=quantization,
        bytes_per_parameter=DTYPE_BYTES.get(dtype, 2.0),
        gpu=gpu,
        bitsandbytes=gpu and _bitsandbytes_imports(),
        accelerator_memory=gpu_memory,
        cpu_memory=_free_cpu_memory(),
    )


def from_pretrained_options(plan: LoadPlan, dtype: str) -> dict[str, Any]:
    """The keywords for `AutoModelForCausalLM.from_pretrained` that carry out `plan`."""
    import torch

    torch_dtype: Any = dtype if dtype == "auto" else getattr(torch, dtype)
    options: dict[str, Any] = {"dtype": torch_dtype}
    if plan.device_map is not None:
        options["device_map"] = plan.device_map
    if plan.bits == 16:
        return options
    import transformers

    bits_and_bytes: Any = transformers.BitsAndBytesConfig  # untyped
    compute = torch.bfloat16 if dtype in ("bfloat16", "auto") else torch_dtype
    if plan.bits == 8:
        options["quantization_config"] = bits_and_bytes(
            load_in_8bit=True, llm_int8_enable_fp32_cpu_offload=plan.cpu_offload
        )
    else:
        options["quantization_config"] = bits_and_bytes(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_compute_dtype=compute,
            bnb_4bit_use_double_quant=True,
            llm_int8_enable_fp32_cpu_offload=plan.cpu_offload,
        )
    return options


def _bits(parameters: int | None, quantization: Quantization) -> tuple[int, str]:
    if quantization == "8bit":
        return 8, "model.quantization = '8bit'"
    if quantization == "4bit":
        return 4, "model.quantization = '4bit'"
    if quantization == "none" or parameters is None:
        return 16, "the configured dtype" + ("" if parameters else " (size unknown)")
    billions = f"{parameters / 1e9:.1f}B parameters"
    if parameters > FOUR_BIT_ABOVE:
        return 4, f"{billions} (> {FOUR_BIT_ABOVE / 1e9:.0f}B): 4-bit"
    if parameters > EIGHT_BIT_ABOVE:
        return 8, f"{billions} (> {EIGHT_BIT_ABOVE / 1e9:.0f}B): 8-bit"
    return 16, f"{billions}: the configured dtype"


def _fits(weight_bytes: int, free: int | None) -> bool:
    return free is None or weight_bytes <= FIT_SHARE * free


def _require_fit(weight_bytes: int, free: int | None, where: str, note: str) -> None:
    if free is None or _fits(weight_bytes, free):
        return
    raise GenerationError(
        f"the model's weights need {weight_bytes / GIB:.1f} GiB ({note}), more than "
        f"{FIT_SHARE:.0%} of the {free / GIB:.1f} GiB of {where}: use a smaller model, "
        "a GPU with bitsandbytes (model.quantization), or a quantized GGUF on a server "
        "(model.backend = 'openai')"
    )


def _bitsandbytes_imports() -> bool:
    try:
        importlib.import_module("bitsandbytes")
    except Exception:  # an ImportError, or a CUDA set-up it cannot work with
        return False
    return True


def _free_gpu_memory(device: str) -> int | None:
    """Free bytes on the CUDA device; None when torch sees no CUDA GPU."""
    try:
        import torch

        if not torch.cuda.is_available():
            return None
        index = int(device.partition(":")[2] or 0)
        free, _total = torch.cuda.mem_get_info(index)
        return int(free)
    except (ImportError, RuntimeError, ValueError):
        return None


def _free_cpu_memory() -> int | None:
    """Available RAM (Linux: MemAvailable; elsewhere the free pages, when told)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None
