"""What one `mochi eval` run is asked for."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mochi.trainer.evaluation.bootstrap import DEFAULT_RESAMPLES
from mochi.trainer.evaluation.configurations import BASE, Configuration
from mochi.trainer.evaluation.decoding import DecodingSettings
from mochi.trainer.evaluation.task_options import TaskOptions


@dataclass(frozen=True)
class RunSpec:
    repo: Path = field(metadata={"help": "The git repository (any folder inside it)."})
    since: str = field(metadata={"help": "The cut: index and training see this commit."})
    out: Path = field(metadata={"help": "Run folder: tasks, results, caches, report."})
    model_dir: Path = field(metadata={"help": "The base model (a Hugging Face folder)."})
    until: str = field(default="HEAD", metadata={"help": "Last commit tasks come from."})
    configs: tuple[Configuration, ...] = field(default=(BASE,))
    tasks: TaskOptions = field(default_factory=TaskOptions)
    decoding: DecodingSettings = field(default_factory=DecodingSettings)
    adapter_dir: Path | None = field(
        default=None, metadata={"help": "A ready LoRA for the lora configs (else one is trained)."}
    )
    train_steps: int | None = field(
        default=None,
        metadata={"help": "Steps of the LoRA trained at the cut (None: the recipe's epochs)."},
    )
    train_params: dict[str, Any] = field(
        default_factory=dict, metadata={"help": "TrainParams over the recipe's (ablations)."}
    )
    dataset_params: dict[str, Any] = field(
        default_factory=dict, metadata={"help": "DatasetSpec over the recipe's (ablations)."}
    )
    bootstrap_resamples: int = field(default=DEFAULT_RESAMPLES)
    command: str = field(default="", metadata={"help": "The command line, for the report."})

    def __post_init__(self) -> None:
        if not self.configs or self.configs[0] != BASE:
            raise ValueError("configs must start with the base configuration")
        if len({c.name for c in self.configs}) != len(self.configs):
            raise ValueError("configs must not repeat")
        if self.train_steps is not None and self.train_steps <= 0:
            raise ValueError(f"train_steps must be > 0, got {self.train_steps}")
        if self.bootstrap_resamples <= 0:
            raise ValueError("bootstrap_resamples must be > 0")

    @property
    def seed(self) -> int:
        return self.tasks.seed

    @property
    def needs_retrieval(self) -> bool:
        return any(c.retrieval for c in self.configs)

    @property
    def needs_adapter(self) -> bool:
        return any(c.lora for c in self.configs)

    @property
    def needs_memory(self) -> bool:
        return any(c.memory for c in self.configs)
