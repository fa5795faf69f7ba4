"""The LoRA experts a request runs with, and their weights: the combination the
in-process back ends serve (delta W = sum_i w_i * scale_i * B_i A_i) and key their caches
by (llama.cpp's active adapters and KV cache, transformers' weighted merges and prefix
cache).

The combination is canonical, so that requests that mean the same thing share a cache:
experts sorted by name, weights rounded to `WEIGHT_DECIMALS` decimals, zero weights
dropped. A single expert at weight 1 is that expert as a plain adapter.
"""

from __future__ import annotations

from collections.abc import Sequence

from mochi.server.generation.types import GenerationError, GenerationRequest

AdapterMix = tuple[tuple[str, float], ...]  # (expert, weight), sorted by expert
BASE: AdapterMix = ()
WEIGHT_DECIMALS = 2


def adapter_mix(adapter: str | None, weights: Sequence[tuple[str, float]] = ()) -> AdapterMix:
    """The combination for `adapter` (None: the base model) and `weights`: with fewer than
    two weighted experts the weights are not read, `adapter` serves at weight 1."""
    if len(weights) >= 2:
        mix = _rounded(weights)
        if mix:
            return mix
    return ((adapter, 1.0),) if adapter is not None else BASE


def request_mix(request: GenerationRequest) -> AdapterMix:
    return adapter_mix(request.adapter, request.adapter_weights)


def single_adapter(mix: AdapterMix) -> str | None:
    """The plain adapter `mix` is (None for the base model); raises ValueError for a
    weighted combination."""
    if not mix:
        return None
    if len(mix) == 1 and mix[0][1] == 1.0:
        return mix[0][0]
    raise ValueError(f"{mix_label(mix)} is a weighted combination, not one adapter")


def is_weighted(mix: AdapterMix) -> bool:
    return len(mix) > 1 or (len(mix) == 1 and mix[0][1] != 1.0)


def experts_of(mix: AdapterMix) -> tuple[str, ...]:
    return tuple(name for name, _ in mix)


def check_experts(adapter: str | None, mix: AdapterMix, loaded: Sequence[str]) -> None:
    """Raise GenerationError when a request names an expert (its `adapter`, or one its
    `mix` weighs) that is not loaded."""
    named = [adapter] if adapter is not None else []
    missing = [name for name in (*named, *experts_of(mix)) if name not in loaded]
    if missing:
        listing = ", ".join(loaded) or "none"
        raise GenerationError(f"unknown adapter {missing[0]!r} (loaded: {listing})")


def mix_label(mix: AdapterMix) -> str:
    """'alpha*0.6+beta*0.4', 'alpha' or 'base': for logs and errors."""
    if not mix:
        return "base"
    if not is_weighted(mix):
        return mix[0][0]
    return "+".join(f"{name}*{weight:g}" for name, weight in mix)


def _rounded(weights: Sequence[tuple[str, float]]) -> AdapterMix:
    summed: dict[str, float] = {}
    for name, weight in weights:
        summed[name] = summed.get(name, 0.0) + float(weight)
    rounded = ((name, round(weight, WEIGHT_DECIMALS)) for name, weight in summed.items())
    return tuple(sorted((name, weight) for name, weight in rounded if weight != 0.0))
