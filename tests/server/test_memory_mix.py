"""The mix of the model's next-token distribution with the token memory's vote
(`MemoryMix`, real faiss search over a handful of states): a fixed λ lets a sure memory
overrule a sure model; the adaptive λ (weight · v / (v + p)) lets the memory overrule an
unsure model only; the result is a log distribution."""

from __future__ import annotations

import math

import numpy as np
import torch

from mochi.rag.memory import TokenNeighbours
from mochi.server.generation.token_memory import MemoryMix, MemorySettings

VOCAB = 8
MODEL_TOKEN, MEMORY_TOKEN = 2, 5


def memory() -> TokenNeighbours:
    """Four states that all continue with MEMORY_TOKEN."""
    keys = np.eye(4, 6, dtype=np.float32)
    return TokenNeighbours(keys, np.full(4, MEMORY_TOKEN, dtype=np.int32))


def logits(sure: bool) -> torch.Tensor:
    """The model's logits: MODEL_TOKEN at p ≈ 0.99 when sure, else uniform."""
    values = torch.zeros(VOCAB)
    if sure:
        values[MODEL_TOKEN] = math.log(0.99 * (VOCAB - 1) / 0.01)
    return values


def mixed(sure: bool, adaptive: bool, weight: float = 0.8) -> torch.Tensor:
    settings = MemorySettings(weight=weight, neighbours=4, temperature=1.0, adaptive=adaptive)
    query = torch.tensor([1.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    return MemoryMix(memory(), settings).mix(logits(sure), query)


def test_a_fixed_weight_overrules_even_a_sure_model() -> None:
    out = mixed(sure=True, adaptive=False)
    assert int(out.argmax()) == MEMORY_TOKEN
    assert math.isclose(float(out.exp().sum()), 1.0, rel_tol=1e-5)
    assert math.isclose(float(out[MEMORY_TOKEN].exp()), 0.8 + 0.2 * 0.01 / 7, rel_tol=1e-4)


def test_the_adaptive_weight_leaves_a_sure_model_its_choice() -> None:
    out = mixed(sure=True, adaptive=True)
    assert int(out.argmax()) == MODEL_TOKEN
    weight = 0.8 * 1.0 / (1.0 + 0.99)  # the memory's vote is 1 for its one token
    assert math.isclose(
        float(out[MEMORY_TOKEN].exp()), weight + (1 - weight) * 0.01 / 7, rel_tol=1e-3
    )
    assert math.isclose(float(out.exp().sum()), 1.0, rel_tol=1e-5)


def test_the_adaptive_weight_lets_the_memory_decide_for_an_unsure_model() -> None:
    out = mixed(sure=False, adaptive=True)
    assert int(out.argmax()) == MEMORY_TOKEN
    weight = 0.8 * 1.0 / (1.0 + 1.0 / VOCAB)
    assert math.isclose(float(out[MEMORY_TOKEN].exp()), weight + (1 - weight) / VOCAB, rel_tol=1e-4)


def test_no_weight_is_the_model_itself() -> None:
    assert torch.equal(mixed(sure=True, adaptive=True, weight=0.0), logits(sure=True))
