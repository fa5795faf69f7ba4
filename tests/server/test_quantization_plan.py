"""How the transformers back end loads a model by its size (`model.quantization`): the
plan for each size and machine, the parameter count read without loading weights, and
a tiny model on CPU that loads as before (bf16, no quantization)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mochi.server.generation.parameter_count import (
    estimate_from_config,
    parameter_count,
    safetensors_parameters,
)
from mochi.server.generation.quantization import GIB, LoadPlan, Quantization, load_plan
from mochi.server.generation.types import GenerationError

B = 1_000_000_000
H200 = 139 * GIB
RTX_4090 = 24 * GIB
LAPTOP = 16 * GIB
SERVER_RAM = 256 * GIB


def gpu_plan(parameters: float, gpu_memory: int, quantization: Quantization = "auto") -> LoadPlan:
    return load_plan(
        int(parameters),
        device="cuda",
        quantization=quantization,
        gpu=True,
        bitsandbytes=True,
        accelerator_memory=gpu_memory,
        cpu_memory=SERVER_RAM,
    )


@pytest.mark.parametrize(
    ("parameters", "bits", "device_map"),
    [
        (0.135 * B, 16, None),  # SmolLM2-135M
        (1.5 * B, 16, None),  # Qwen2.5-Coder-1.5B
        (6.7 * B, 16, None),  # Llama-2-7B: at the line, not above it
        (7.6 * B, 8, "auto"),  # Qwen2.5-7B
        (14 * B, 8, "auto"),
        (20 * B, 8, "auto"),
        (32 * B, 4, "auto"),  # Qwen2.5-Coder-32B
        (70 * B, 4, "auto"),
    ],
)
def test_auto_picks_the_bits_by_size_on_a_big_gpu(
    parameters: float, bits: int, device_map: str | None
) -> None:
    plan = gpu_plan(parameters, H200)
    assert (plan.bits, plan.device_map, plan.cpu_offload) == (bits, device_map, False)
    assert plan.weight_bytes == int(int(parameters) * (2 if bits == 16 else bits / 8))


@pytest.mark.parametrize(
    ("parameters", "gpu_memory", "bits", "offload"),
    [
        (6.7 * B, RTX_4090, 16, False),  # 13.4 GB fits 24 GiB
        (6.7 * B, 8 * GIB, 16, True),  # bf16 does not fit 8 GiB: layers go to the CPU
        (14 * B, RTX_4090, 8, False),  # 14 GB in 8-bit fits
        (70 * B, RTX_4090, 4, True),  # 35 GB in 4-bit does not
    ],
)
def test_weights_that_do_not_fit_the_gpu_are_offloaded_to_cpu(
    parameters: float, gpu_memory: int, bits: int, offload: bool
) -> None:
    plan = gpu_plan(parameters, gpu_memory)
    assert (plan.bits, plan.cpu_offload) == (bits, offload)
    assert plan.device_map == ("auto" if offload or bits < 16 else None)


def test_weights_that_fit_nowhere_are_an_error_with_the_sizes() -> None:
    # 70 B parameters at 4 bits: 35 GB, i.e. 32.6 GiB; 85% of 24 + 8 GiB is 27.2 GiB
    with pytest.raises(GenerationError, match=r"need 32\.6 GiB .* of free GPU and CPU memory"):
        load_plan(
            70 * B,
            device="cuda",
            gpu=True,
            bitsandbytes=True,
            accelerator_memory=RTX_4090,
            cpu_memory=8 * GIB,
        )


@pytest.mark.parametrize(
    ("quantization", "bits"), [("none", 16), ("8bit", 8), ("4bit", 4), ("auto", 4)]
)
def test_an_explicit_choice_overrides_the_size(quantization: Quantization, bits: int) -> None:
    assert gpu_plan(32 * B, H200, quantization).bits == bits


@pytest.mark.parametrize("parameters", [0.135 * B, 7.6 * B, 32 * B])
def test_on_a_cpu_auto_loads_the_dtype_and_says_why(parameters: float) -> None:
    plan = load_plan(int(parameters), device="cpu", cpu_memory=SERVER_RAM)
    assert (plan.bits, plan.device_map, plan.cpu_offload) == (16, None, False)
    if parameters > 7 * B:
        assert "needs a CUDA GPU" in plan.note and "loading the dtype instead" in plan.note


def test_a_gpu_without_bitsandbytes_loads_the_dtype_under_auto() -> None:
    plan = load_plan(
        int(7.6 * B), device="cuda", gpu=True, bitsandbytes=False, accelerator_memory=H200
    )
    assert plan.bits == 16 and "needs bitsandbytes" in plan.note


@pytest.mark.parametrize("quantization", ["8bit", "4bit"])
def test_explicit_quantization_without_cuda_is_an_error(quantization: Quantization) -> None:
    with pytest.raises(GenerationError, match=r"needs CUDA and bitsandbytes.*pip install"):
        load_plan(int(1.5 * B), device="cpu", quantization=quantization)


def test_a_model_too_big_for_this_cpu_is_an_error() -> None:
    with pytest.raises(GenerationError, match=r"need 65\.2 GiB .* of the 16\.0 GiB of free memory"):
        load_plan(35 * B, device="cpu", cpu_memory=LAPTOP)


def test_float32_weights_count_four_bytes_each() -> None:
    plan = load_plan(B, device="cpu", bytes_per_parameter=4.0)
    assert plan.weight_bytes == 4 * B


def test_an_unknown_size_loads_as_configured() -> None:
    plan = load_plan(None, device="cuda", gpu=True, bitsandbytes=True, accelerator_memory=H200)
    assert (plan.bits, plan.device_map) == (16, None)


# -- the parameter count -----------------------------------------------------------------

LLAMA_2_7B = {
    "hidden_size": 4096,
    "intermediate_size": 11008,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 32,
    "vocab_size": 32000,
    "tie_word_embeddings": False,
}
QWEN2_5_7B = {
    "hidden_size": 3584,
    "intermediate_size": 18944,
    "num_hidden_layers": 28,
    "num_attention_heads": 28,
    "num_key_value_heads": 4,
    "vocab_size": 152064,
    "tie_word_embeddings": False,
}
MIXTRAL_8X7B = {
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "num_local_experts": 8,
    "vocab_size": 32000,
    "tie_word_embeddings": False,
}


@pytest.mark.parametrize(
    ("config", "published"),
    [(LLAMA_2_7B, 6.74 * B), (QWEN2_5_7B, 7.62 * B), (MIXTRAL_8X7B, 46.7 * B)],
)
def test_the_config_estimate_is_within_a_few_percent(
    config: dict[str, int], published: float
) -> None:
    estimate = estimate_from_config(config)
    assert estimate is not None
    assert abs(estimate - published) / published < 0.03


def test_a_config_without_shapes_gives_no_count(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "mystery"}))
    assert parameter_count(tmp_path) is None
    assert parameter_count(tmp_path / "missing") is None


def test_safetensors_headers_give_the_exact_count(tiny_model_dir: Path) -> None:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    exact = sum(p.numel() for p in model.parameters())
    assert safetensors_parameters(tiny_model_dir) == exact == parameter_count(tiny_model_dir)
    config = json.loads((tiny_model_dir / "config.json").read_text())
    assert estimate_from_config(config) == exact


def test_a_tiny_model_on_cpu_loads_bf16_under_auto(tiny_model_dir: Path) -> None:
    import torch

    from mochi.server.generation.transformers_backend import TransformersGenerator

    gen = TransformersGenerator(str(tiny_model_dir), device="cpu", quantization="auto")
    try:
        weights = list(gen._base.parameters())  # the loaded model, before any adapter
        assert {w.dtype for w in weights} == {torch.bfloat16}
        assert {w.device.type for w in weights} == {"cpu"}
        assert not hasattr(gen._base, "hf_device_map")  # loaded whole, as before
    finally:
        gen.close()


def test_explicit_8bit_on_cpu_fails_to_load_with_the_hint(tiny_model_dir: Path) -> None:
    from mochi.server.generation.transformers_backend import TransformersGenerator

    with pytest.raises(GenerationError, match="needs CUDA and bitsandbytes"):
        TransformersGenerator(str(tiny_model_dir), device="cpu", quantization="8bit")


def test_a_plan_becomes_from_pretrained_keywords() -> None:
    import torch

    from mochi.server.generation.quantization import from_pretrained_options

    assert from_pretrained_options(LoadPlan(16, None, False, 0, ""), "bfloat16") == {
        "dtype": torch.bfloat16
    }
    offloaded = from_pretrained_options(LoadPlan(16, "auto", True, 0, ""), "float32")
    assert offloaded == {"dtype": torch.float32, "device_map": "auto"}
    nf4 = from_pretrained_options(LoadPlan(4, "auto", True, 0, ""), "bfloat16")
    config = nf4["quantization_config"]
    assert (config.load_in_4bit, config.bnb_4bit_quant_type) == (True, "nf4")
    assert config.bnb_4bit_compute_dtype == torch.bfloat16
    assert config.llm_int8_enable_fp32_cpu_offload
    int8 = from_pretrained_options(LoadPlan(8, "auto", False, 0, ""), "bfloat16")
    assert int8["quantization_config"].load_in_8bit and int8["device_map"] == "auto"
