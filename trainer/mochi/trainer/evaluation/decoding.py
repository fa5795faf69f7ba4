"""Decoding and prompt budgets, the same for every configuration (the server's defaults:
`mochi.server.config.CompletionConfig`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class DecodingSettings:
    max_new_tokens: int = field(default=48, metadata={"help": "Most tokens of one completion."})
    prompt_tokens: int = field(
        default=1024, metadata={"help": "Budget for the current file's prefix and suffix."}
    )
    context_tokens: int = field(
        default=384, metadata={"help": "Budget for cross-file context from the index."}
    )
    retrieval_k: int = field(default=6, metadata={"help": "Snippets considered as context."})
    dtype: str = field(default="bfloat16", metadata={"help": "torch dtype of the model."})
    token_healing: bool = field(
        default=True,
        metadata={"help": "Take back the prompt's last token (`mochi.rag.prompting.healing`)."},
    )
    memory_weight: float = field(
        default=0.5, metadata={"help": "λ of the token memory (the memory configurations)."}
    )
    memory_neighbours: int = field(default=32, metadata={"help": "k of the token memory."})
    memory_temperature: float = field(
        default=10.0, metadata={"help": "Softmax temperature over the memory's distances."}
    )
    memory_adaptive: bool = field(
        default=False,
        metadata={"help": "λ scaled per step by the memory's confidence against the model's."},
    )
    memory_per_adapter: bool = field(
        default=False,
        metadata={
            "help": "The configurations with the LoRA and the memory query a memory of the "
            "model's states with the LoRA on (else the base model's)."
        },
    )

    def __post_init__(self) -> None:
        for name in ("max_new_tokens", "prompt_tokens", "retrieval_k"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.context_tokens < 0:
            raise ValueError(f"context_tokens must be >= 0, got {self.context_tokens}")
        if not 0.0 <= self.memory_weight <= 1.0:
            raise ValueError(f"memory_weight must be in [0, 1], got {self.memory_weight}")
        if self.memory_neighbours <= 0 or self.memory_temperature <= 0:
            raise ValueError("memory_neighbours and memory_temperature must be > 0")
        if self.dtype not in ("bfloat16", "float32", "float16"):
            raise ValueError(f"dtype must be bfloat16, float32 or float16, not {self.dtype!r}")

    def to_json(self) -> dict[str, object]:
        return asdict(self)
