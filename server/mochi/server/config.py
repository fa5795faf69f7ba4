"""The whole mochi configuration tree: the index part (mochi.rag.config) plus the
server's sections. LSP `initializationOptions` are a partial tree in camelCase,
merged over the workspace's `.mochi.toml`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mochi.rag.config import ConfigError, RagConfig, load_workspace_config
from mochi.server.generation.token_memory import MemorySettings


@dataclass
class CompletionConfig:
    enabled: bool = field(default=True, metadata={"help": "Answer completion requests."})
    max_tokens: int = field(default=48, metadata={"help": "Most tokens one suggestion may have."})
    multiline: bool = field(
        default=False, metadata={"help": "false: stop at the line end; true: at the block end."}
    )
    prompt_tokens: int = field(
        default=1024, metadata={"help": "Budget for the current file's prefix and suffix."}
    )
    context_tokens: int = field(
        default=384, metadata={"help": "Budget for cross-file context from the index."}
    )
    retrieval_k: int = field(default=6, metadata={"help": "Snippets considered as context."})
    token_healing: bool = field(
        default=True,
        metadata={
            "help": "Take back the prompt's last token so the model may extend it "
            "(transformers back end)."
        },
    )
    memory: bool = field(
        default=False,
        metadata={
            "help": "Mix the repository's token memory into each next-token choice "
            "([memory]; transformers back end)."
        },
    )

    def __post_init__(self) -> None:
        for name in ("max_tokens", "prompt_tokens", "retrieval_k"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"completion.{name}", "must be > 0")
        if self.context_tokens < 0:
            raise ConfigError("completion.context_tokens", "must be >= 0")


@dataclass
class MemoryConfig:
    """The token memory (kNN-LM): the model's states over the repository's code."""

    weight: float = field(
        default=0.5, metadata={"help": "λ: the memory's share of each next-token choice."}
    )
    neighbours: int = field(default=32, metadata={"help": "Nearest states that vote (k)."})
    temperature: float = field(
        default=10.0, metadata={"help": "Of the softmax over minus the squared distances."}
    )
    window_tokens: int = field(
        default=1024, metadata={"help": "Tokens the model reads at once when building it."}
    )

    def __post_init__(self) -> None:
        if not 0.0 <= self.weight <= 1.0:
            raise ConfigError("memory.weight", "must be between 0 and 1")
        if self.neighbours < 1:
            raise ConfigError("memory.neighbours", "must be >= 1")
        if self.temperature <= 0:
            raise ConfigError("memory.temperature", "must be > 0")
        if self.window_tokens < 16:
            raise ConfigError("memory.window_tokens", "must be >= 16")

    def settings(self) -> MemorySettings:
        return MemorySettings(self.weight, self.neighbours, self.temperature)


@dataclass
class ModelConfig:
    backend: Literal["transformers", "vllm"] = field(
        default="transformers",
        metadata={"help": "transformers: in-process (CPU default); vllm: a vLLM server by URL."},
    )
    name: str = field(
        default="",
        metadata={"help": "A model in `mochi models list`, or a folder; '' = SmolLM2-135M."},
    )
    device: str = field(default="cpu", metadata={"help": "torch device for transformers."})
    dtype: Literal["bfloat16", "float32", "auto"] = field(default="bfloat16")
    vllm_url: str = field(default="", metadata={"help": "e.g. http://127.0.0.1:8000"})
    vllm_model: str = field(default="", metadata={"help": "The base model name vLLM serves."})
    fim_template: str = field(
        default="", metadata={"help": "qwen, starcoder, codellama; '' = detect from the vocab."}
    )
    trust_remote_code: bool = field(default=False, metadata={"help": "Opt-in only."})
    adapters: dict[str, str] = field(
        default_factory=dict, metadata={"help": "LoRA experts: name -> adapter folder."}
    )
    expert: str = field(default="", metadata={"help": "Always use this expert ('' = router)."})
    prefix_cache: bool = field(
        default=True,
        metadata={"help": "Reuse the KV cache of an unchanged prompt prefix (transformers)."},
    )

    def __post_init__(self) -> None:
        if self.backend == "vllm" and not self.vllm_url:
            raise ConfigError("model.vllm_url", "is required when model.backend = 'vllm'")


@dataclass
class HoverConfig:
    explain: bool = field(
        default=False, metadata={"help": "Add a short model explanation to hovers."}
    )
    max_usages: int = field(default=5, metadata={"help": "Usages listed in a hover."})


@dataclass
class TrainerConfig:
    url: str = field(default="", metadata={"help": "Training daemon URL ('' = none)."})
    token: str = field(
        default="",
        metadata={"help": "Bearer token; '' = read the daemon's token file in the data dir."},
    )
    job_params: dict[str, Any] = field(
        default_factory=dict,
        metadata={
            "help": "Parameters sent with mochi.train, e.g. {train = {max_steps = 200}, "
            "dataset = {context_rate = 0.5}, gate_tolerance = 0.02}."
        },
    )


@dataclass
class ServerConfig:
    """The language server process itself."""

    metrics_port: int = field(
        default=0, metadata={"help": "Serve Prometheus metrics on this port (0 = off)."}
    )
    metrics_host: str = field(
        default="127.0.0.1",
        metadata={"help": "Where the metrics endpoint listens (127.0.0.1: this machine only)."},
    )

    def __post_init__(self) -> None:
        if not 0 <= self.metrics_port <= 65535:
            raise ConfigError("server.metrics_port", "must be 0 (off) or a port, 1 to 65535")
        if not self.metrics_host.strip():
            raise ConfigError("server.metrics_host", "must be an address, e.g. 127.0.0.1")


@dataclass
class MochiConfig(RagConfig):
    completion: CompletionConfig = field(default_factory=CompletionConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    memory: MemoryConfig = field(default_factory=MemoryConfig)
    hover: HoverConfig = field(default_factory=HoverConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    server: ServerConfig = field(default_factory=ServerConfig)


def load_config(
    root: Path,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> MochiConfig:
    env = os.environ if environ is None else environ
    return load_workspace_config(MochiConfig, root, environ=env, overrides=overrides)
