"""The training configuration (`TrainParams`), validated once, and the errors of a run."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from enum import StrEnum
from typing import Any


class Strategy(StrEnum):
    LORA = "lora"
    DORA = "dora"
    QLORA = "qlora"
    FULL = "full"


PRECISIONS = ("auto", "fp32", "bf16")
DEEPSPEED_STAGES = ("", "zero2", "zero3")


class TrainingError(RuntimeError):
    """A run could not start or finish; the message says why and what to do."""


class TrainingCancelled(TrainingError):
    """`should_cancel()` answered True; a checkpoint was saved, so the run can resume."""


def _help(text: str) -> dict[str, str]:
    return {"help": text}


@dataclass
class TrainParams:
    strategy: str = field(default="lora", metadata=_help("lora | dora | qlora | full"))
    rank: int = field(default=16, metadata=_help("LoRA rank r"))
    alpha: int = field(default=32, metadata=_help("LoRA alpha (scale = alpha / rank)"))
    dropout: float = field(default=0.05, metadata=_help("LoRA dropout, in [0, 1)"))
    target_modules: tuple[str, ...] = field(
        default=(), metadata=_help("module names to adapt; () = chosen per architecture")
    )
    learning_rate: float = field(default=2e-4, metadata=_help("peak AdamW learning rate"))
    weight_decay: float = field(default=0.0, metadata=_help("AdamW weight decay"))
    warmup_steps: int = field(default=10, metadata=_help("linear warm-up steps"))
    max_steps: int = field(
        default=100, metadata=_help("optimizer steps in the run (when epochs is 0)")
    )
    epochs: float = field(
        default=0.0,
        metadata=_help("> 0: the run is this many passes over the samples, max_steps ignored"),
    )
    batch_size: int = field(default=4, metadata=_help("samples per micro-batch"))
    grad_accum: int = field(default=1, metadata=_help("micro-batches per optimizer step"))
    max_seq_len: int = field(
        default=512, metadata=_help("tokens per sample; longer prompts are cut from the left")
    )
    seed: int = field(default=0, metadata=_help("seed of the data order, init and dropout"))
    checkpoint_every: int = field(
        default=25, metadata=_help("steps between checkpoints; 0 = only on cancel")
    )
    gradient_checkpointing: bool = field(
        default=False, metadata=_help("recompute activations in backward (saves memory)")
    )
    precision: str = field(
        default="auto", metadata=_help("auto (bf16 on a CUDA device that has it) | fp32 | bf16")
    )
    ewc_lambda: float = field(default=0.0, metadata=_help("EWC strength λ; 0 = no EWC"))
    ewc_gamma: float = field(
        default=1.0, metadata=_help("online-EWC decay of the previous Fisher, in [0, 1]")
    )
    fisher_samples: int = field(
        default=64, metadata=_help("samples used to estimate the Fisher diagonal")
    )
    replay_ratio: float = field(
        default=0.0, metadata=_help("share of each batch drawn from the replay buffer, [0, 1)")
    )
    replay_size: int = field(default=256, metadata=_help("samples kept in the replay buffer"))
    deepspeed: str = field(
        default="", metadata=_help("'' | zero2 | zero3 (DeepSpeed ZeRO across GPUs)")
    )

    def __post_init__(self) -> None:
        self._check_types()
        _one_of("strategy", self.strategy, [s.value for s in Strategy])
        _one_of("precision", self.precision, PRECISIONS)
        _one_of("deepspeed", self.deepspeed, DEEPSPEED_STAGES)
        for name in ("rank", "alpha", "max_steps", "batch_size", "grad_accum", "fisher_samples"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be ≥ 1, got {getattr(self, name)!r}")
        for name in ("warmup_steps", "seed", "checkpoint_every", "replay_size"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be ≥ 0, got {getattr(self, name)!r}")
        if self.epochs < 0:
            raise ValueError(f"epochs must be ≥ 0, got {self.epochs!r}")
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate!r}")
        for name in ("weight_decay", "ewc_lambda"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be ≥ 0, got {getattr(self, name)!r}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        if not 0 <= self.replay_ratio < 1:
            raise ValueError(f"replay_ratio must be in [0, 1), got {self.replay_ratio!r}")
        if not 0 <= self.ewc_gamma <= 1:
            raise ValueError(f"ewc_gamma must be in [0, 1], got {self.ewc_gamma!r}")
        if self.max_seq_len < 8:
            raise ValueError(f"max_seq_len must be ≥ 8, got {self.max_seq_len!r}")
        if any(not isinstance(name, str) or not name for name in self.target_modules):
            raise ValueError(f"target_modules must hold module names, got {self.target_modules!r}")

    def _check_types(self) -> None:
        if isinstance(self.target_modules, list):
            self.target_modules = tuple(self.target_modules)
        for spec in fields(self):
            value = getattr(self, spec.name)
            expected: Any = {"str": str, "int": int, "float": (int, float), "bool": bool}.get(
                str(spec.type), tuple
            )
            if isinstance(value, bool) and expected is not bool:
                raise ValueError(f"{spec.name} must be of type {spec.type}, got {value!r}")
            if not isinstance(value, expected):
                raise ValueError(f"{spec.name} must be of type {spec.type}, got {value!r}")

    def sized(self, samples: int) -> TrainParams:
        """These params with `max_steps` worked out from `epochs` and the number of
        samples (unchanged when epochs is 0): steps = ⌈epochs × samples / batch⌉."""
        if self.epochs <= 0:
            return self
        per_step = self.batch_size * self.grad_accum
        steps = max(1, math.ceil(self.epochs * samples / per_step))
        return replace(self, max_steps=steps, epochs=0.0)

    @property
    def uses_lora(self) -> bool:
        return self.strategy != Strategy.FULL

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["target_modules"] = list(self.target_modules)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainParams:
        """Build from JSON-like data; an unknown key is a ValueError that names it."""
        known = {spec.name for spec in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"unknown training parameter(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known))}"
            )
        values = dict(data)
        if isinstance(values.get("target_modules"), list):
            values["target_modules"] = tuple(values["target_modules"])
        return cls(**values)


def _one_of(name: str, value: str, allowed: object) -> None:
    options = list(allowed)  # type: ignore[call-overload]
    if value not in options:
        raise ValueError(f"{name} must be one of {options}, got {value!r}")
