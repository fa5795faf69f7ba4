"""The transformers back end's side of the token memory (`mochi.rag.memory`): the model
states the memory is made of (`ModelTokenEncoder`), the state at each decoding step
(`LastHidden`, a hook on the output layer), and the mix of the model's next-token
distribution with the memory's vote (`MemoryMix`, kNN-LM interpolation)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

    from mochi.rag.memory import TokenNeighbours


@dataclass(frozen=True, slots=True)
class MemorySettings:
    weight: float = 0.5  # λ: the memory's share of the next-token distribution
    neighbours: int = 32  # k
    temperature: float = 10.0  # of the softmax over −(squared L2 distance)
    # λ per step: weight · v / (v + p), v the memory's top vote and p the model's top
    # probability, so the memory speaks where it is surer than the model and stays out
    # of the steps the model (copying from the prompt, say) is sure of
    adaptive: bool = False

    def __post_init__(self) -> None:
        if not 0.0 <= self.weight <= 1.0:
            raise ValueError(f"memory weight must be in [0, 1], got {self.weight!r}")
        if self.neighbours < 1:
            raise ValueError(f"memory neighbours must be ≥ 1, got {self.neighbours!r}")
        if self.temperature <= 0:
            raise ValueError(f"memory temperature must be > 0, got {self.temperature!r}")


class LastHidden:
    """Keeps the input of the model's output layer at its last position: the state the
    next-token logits are computed from (a forward pre-hook; architecture-agnostic)."""

    def __init__(self, model: Any) -> None:
        self.value: torch.Tensor | None = None
        head = model.get_output_embeddings()
        if head is None:
            raise ValueError("the model has no output layer to read its states from")
        self._handle = head.register_forward_pre_hook(self._keep)

    def _keep(self, module: Any, args: tuple[Any, ...]) -> None:
        self.value = args[0][0, -1].detach()

    def close(self) -> None:
        self._handle.remove()


class MemoryMix:
    """p = (1 − λ) · p_model + λ · p_memory over the vocabulary; returns log p, so the
    sampler's argmax and softmax work on it as on logits. λ is the settings' weight, or
    with `adaptive` that weight scaled by the memory's confidence against the model's."""

    def __init__(self, neighbours: TokenNeighbours, settings: MemorySettings) -> None:
        self.neighbours = neighbours
        self.settings = settings

    @property
    def size(self) -> int:
        return self.neighbours.size

    def mix(self, logits: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
        import torch

        s = self.settings
        if s.weight == 0 or self.neighbours.size == 0:
            return logits
        tokens, votes = self.neighbours.vote(
            hidden.float().cpu().numpy(), s.neighbours, s.temperature
        )
        probs = torch.softmax(logits.float(), dim=-1)
        inside = tokens < probs.shape[0]  # the memory of another vocabulary: ignored
        tokens, votes = tokens[inside], votes[inside]
        if tokens.size == 0:
            return logits
        weight = s.weight
        if s.adaptive:
            vote, sure = float(votes.max()), float(probs.max())
            weight *= vote / (vote + sure)
        probs *= 1.0 - weight
        index = torch.as_tensor(tokens, dtype=torch.long, device=probs.device)
        weights = torch.as_tensor(votes * weight, dtype=probs.dtype, device=probs.device)
        probs.index_add_(0, index, weights)
        return torch.log(probs.clamp_min(1e-30))

    def mix_arrays(self, logits: np.ndarray, hidden: np.ndarray) -> np.ndarray:
        """`mix` over numpy arrays (a back end that decodes outside torch: llama.cpp)."""
        import torch

        out = self.mix(
            torch.from_numpy(np.array(logits, dtype=np.float32)),
            torch.from_numpy(np.array(hidden, dtype=np.float32)),
        )
        return out.numpy()


def model_identity(model_dir: str) -> str:
    """Names a model's weights: the folder, and the size and first MiB of each weights file
    (a model replaced in place gets a new identity, so its memory is made again)."""
    folder = Path(model_dir).expanduser().resolve()
    digest = hashlib.sha256(str(folder).encode())
    for weights in sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin")):
        digest.update(f"{weights.name}:{weights.stat().st_size}".encode())
        with weights.open("rb") as data:
            digest.update(data.read(1 << 20))
    return digest.hexdigest()[:32]


def adapter_identity(model: str, adapter_dir: Path) -> str:
    """Names the states of a model with an adapter on: the model's identity and the
    adapter's weights (read as `model_identity` reads a model's)."""
    both = f"{model}:{model_identity(str(adapter_dir))}"
    return hashlib.sha256(both.encode()).hexdigest()[:32]


class ModelTokenEncoder:
    """Implements `mochi.rag.memory.TokenEncoder` over the base model of a generator:
    its final states (after the last norm, the output layer's input) in windows of
    `window` tokens, each run under `lock` (one model call at a time)."""

    def __init__(
        self,
        decoder: Callable[[Any], Any],
        tokenizer: Any,
        identity: str,
        lock: threading.RLock,
        *,
        device: str = "cpu",
        window: int = 1024,
    ) -> None:
        self._decoder = decoder  # input_ids -> last hidden states (1 × n × d)
        self._tokenizer = tokenizer
        self._identity = identity
        self._lock = lock
        self._device = device
        self._window = window

    @property
    def identity(self) -> str:
        return self._identity

    def encode(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        import torch

        ids: list[int] = self._tokenizer(text)["input_ids"]
        keys: list[np.ndarray] = []
        values: list[np.ndarray] = []
        for start in range(0, max(0, len(ids) - 1), self._window):
            window = ids[start : start + self._window + 1]  # its last id is only a value
            inputs = torch.tensor([window[:-1]], dtype=torch.long, device=self._device)
            with self._lock, torch.inference_mode():
                states = self._decoder(inputs)
            keys.append(states[0].float().cpu().numpy().astype(np.float16))
            values.append(np.asarray(window[1:], dtype=np.int32))
        if not keys:
            return np.zeros((0, 0), dtype=np.float16), np.zeros(0, dtype=np.int32)
        return np.concatenate(keys), np.concatenate(values)
