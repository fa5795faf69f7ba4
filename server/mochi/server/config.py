"""The whole mochi configuration tree: the index part (mochi.rag.config) plus the
server's sections. LSP `initializationOptions` are a partial tree in camelCase,
merged over the workspace's `.mochi.toml`."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mochi.rag.config import ConfigError, RagConfig, load_workspace_config
from mochi.server.generation.token_memory import MemorySettings
from mochi.server.routing.router import parse_rule


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
            "([memory]; transformers, and llama.cpp with backend = auto)."
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
    adaptive: bool = field(
        default=False,
        metadata={
            "help": "Scale λ at each step by the memory's top vote against the model's top "
            "probability: v / (v + p)."
        },
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
        return MemorySettings(self.weight, self.neighbours, self.temperature, self.adaptive)


@dataclass
class ModelConfig:
    backend: Literal["auto", "transformers", "llama.cpp", "vllm", "openai"] = field(
        default="auto",
        metadata={
            "help": "auto: llama.cpp for completions and transformers for scoring and the "
            "token memory, on the CPU, when llama-cpp-python is installed and the model has "
            "a GGUF (else transformers); transformers: in-process; llama.cpp: in-process, a "
            "GGUF model (pip install 'mochi[llamacpp]'); vllm: a vLLM server by URL; "
            "openai: an OpenAI-compatible server by URL (Ollama, llama.cpp, LM Studio)."
        },
    )
    gguf: str = field(
        default="",
        metadata={
            "help": "llama.cpp: the GGUF file; '' = the model's own (the packaged "
            "SmolLM2-135M's, or the file a `mochi models import X.gguf` came from)."
        },
    )
    threads: int = field(
        default=0, metadata={"help": "CPU threads for llama.cpp (0 = one per core)."}
    )
    prefill: str = field(
        default="auto",
        metadata={
            "help": "llama.cpp: what evaluates long prompts. auto: a bf16 copy of the GGUF "
            "(made once in the cache) when its weight type prefills slowly, as the "
            "packaged Q4_1 does; off: the GGUF itself; or a GGUF of the same model."
        },
    )
    name: str = field(
        default="",
        metadata={"help": "A model in `mochi models list`, or a folder; '' = SmolLM2-135M."},
    )
    device: str = field(default="cpu", metadata={"help": "torch device for transformers."})
    dtype: Literal["bfloat16", "float32", "auto"] = field(default="bfloat16")
    quantization: Literal["auto", "none", "8bit", "4bit"] = field(
        default="auto",
        metadata={
            "help": "transformers: auto = by size (4-bit above ~20B parameters, 8-bit above "
            "~7B, dtype below; needs CUDA and bitsandbytes), none = dtype, or 8bit / 4bit."
        },
    )
    vllm_url: str = field(default="", metadata={"help": "e.g. http://127.0.0.1:8000"})
    vllm_model: str = field(default="", metadata={"help": "The base model name vLLM serves."})
    openai_url: str = field(
        default="", metadata={"help": "e.g. http://127.0.0.1:11434 (Ollama), :8080 (llama.cpp)."}
    )
    openai_model: str = field(
        default="", metadata={"help": "The model name that server serves ('' = its first)."}
    )
    openai_api_key_env: str = field(
        default="",
        metadata={"help": "The environment variable that holds the API key ('' = none)."},
    )
    openai_fim: Literal["suffix", "template", "none"] = field(
        default="suffix",
        metadata={
            "help": "suffix: send the text after the cursor as `suffix`, the server builds "
            "the FIM prompt; template: mochi builds it (fim_template); none: prefix only."
        },
    )
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
        if self.backend == "openai" and not self.openai_url:
            raise ConfigError("model.openai_url", "is required when model.backend = 'openai'")
        if self.openai_url and not self.openai_url.startswith(("http://", "https://")):
            raise ConfigError("model.openai_url", "must start with http:// or https://")
        if self.threads < 0:
            raise ConfigError("model.threads", "must be >= 0 (0 = one per core)")
        if self.prefill not in ("auto", "off") and not self.prefill.endswith(".gguf"):
            raise ConfigError("model.prefill", "must be 'auto', 'off' or a .gguf file")
        if self.backend == "openai" and self.openai_fim == "template" and not self.fim_template:
            raise ConfigError(
                "model.fim_template", "is required when model.openai_fim = 'template'"
            )
        if self.openai_api_key_env and not _ENV_NAME.fullmatch(self.openai_api_key_env):
            raise ConfigError(
                "model.openai_api_key_env",
                "must name an environment variable (the key stays there)",
            )


@dataclass
class HoverConfig:
    explain: bool = field(
        default=False, metadata={"help": "Add a short model explanation to hovers."}
    )
    max_usages: int = field(default=5, metadata={"help": "Usages listed in a hover."})
    explain_route: bool = field(
        default=False,
        metadata={"help": "Add which expert served the last completion here, and why."},
    )


@dataclass
class DiagnosticsConfig:
    """Convention diagnostics: lines and names unusual for this repository."""

    conventions: bool = field(
        default=False,
        metadata={"help": "Publish convention diagnostics (hints) on open, edit and save."},
    )
    debounce_ms: int = field(
        default=1000, metadata={"help": "Quiet time after an edit before a document is checked."}
    )
    quantile: float = field(
        default=0.97,
        metadata={"help": "A line is unusual above this quantile of the repository's surprise."},
    )
    max_findings: int = field(default=10, metadata={"help": "Most findings per kind and file."})
    severity: Literal["hint", "information"] = field(
        default="hint", metadata={"help": "The diagnostics' severity."}
    )
    naming: bool = field(
        default=True, metadata={"help": "Also flag names unlike the repository's naming style."}
    )
    suggest: bool = field(
        default=True,
        metadata={"help": "Complete each unusual line greedily: what the repository would write."},
    )
    calibration_files: int = field(
        default=40, metadata={"help": "Files scored once to learn the repository's distribution."}
    )
    min_tokens: int = field(default=3, metadata={"help": "Shorter lines are not judged."})
    max_file_chars: int = field(
        default=60000, metadata={"help": "Larger documents are not checked."}
    )

    def __post_init__(self) -> None:
        if self.debounce_ms < 0:
            raise ConfigError("diagnostics.debounce_ms", "must be >= 0")
        if not 0.5 <= self.quantile < 1.0:
            raise ConfigError("diagnostics.quantile", "must be at least 0.5 and below 1")
        for name in ("max_findings", "calibration_files", "min_tokens", "max_file_chars"):
            if getattr(self, name) < 1:
                raise ConfigError(f"diagnostics.{name}", "must be >= 1")
        if self.severity not in ("hint", "information"):
            raise ConfigError("diagnostics.severity", "must be 'hint' or 'information'")


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
    share_index: bool = field(
        default=True,
        metadata={
            "help": "Share the open index with `mochi mcp` for this workspace (a Unix "
            "socket and a token only you can read), instead of it failing on the lock."
        },
    )

    def __post_init__(self) -> None:
        if not 0 <= self.metrics_port <= 65535:
            raise ConfigError("server.metrics_port", "must be 0 (off) or a port, 1 to 65535")
        if not self.metrics_host.strip():
            raise ConfigError("server.metrics_host", "must be an address, e.g. 127.0.0.1")
        if not isinstance(self.share_index, bool):
            raise ConfigError("server.share_index", "must be true or false")


ROUTING_MODES = ("rules", "learned")


@dataclass
class RoutingConfig:
    """Which LoRA expert answers each request (mochi.explainCompletion says why)."""

    mode: Literal["rules", "learned"] = field(
        default="rules",
        metadata={
            "help": "rules: the pinned expert, then `rules`, then an expert named after the "
            "language, then 'default'; learned: the pinned expert and `rules`, then a gate "
            "over the code before the cursor (the expert set's router, else its centroids)."
        },
    )
    rules: list[str] = field(
        default_factory=list,
        metadata={"help": "'glob = expert' entries, first match wins, e.g. 'docs/** = docs'."},
    )
    threshold: float = field(
        default=0.4,
        metadata={"help": "learned: below this confidence the base model answers."},
    )
    top_k: int = field(
        default=1,
        metadata={
            "help": "learned: experts combined by their weights (llama.cpp, transformers); "
            "vLLM and openai serve the top one."
        },
    )
    expert_set: str = field(
        default="",
        metadata={
            "help": "The expert set: a set's name in the data dir (the trainer publishes "
            "'default'), or a folder (one version's expert_set.json, or a set's versions "
            "with its `current` pointer); its adapters are loaded and its router used. "
            "'' = none, or with mode = 'learned' the 'default' set once published."
        },
    )
    reload_seconds: float = field(
        default=10.0,
        metadata={
            "help": "How often the server looks for a new version of the expert set and of "
            "the trainer's adapters (a commit hook's job, say) and loads it (0 = never)."
        },
    )
    context_chars: int = field(
        default=1500, metadata={"help": "learned: characters before the cursor the gate reads."}
    )
    temperature: float = field(
        default=0.05,
        metadata={"help": "learned, centroids: of the softmax over cosine similarities."},
    )

    def __post_init__(self) -> None:
        if self.mode not in ROUTING_MODES:
            raise ConfigError("routing.mode", f"must be one of {list(ROUTING_MODES)}")
        for i, rule in enumerate(self.rules):
            try:
                parse_rule(rule)
            except ValueError as exc:
                raise ConfigError(f"routing.rules[{i}]", str(exc)) from None
        if not 0.0 <= self.threshold <= 1.0:
            raise ConfigError("routing.threshold", "must be between 0 and 1")
        if self.top_k < 1:
            raise ConfigError("routing.top_k", "must be >= 1")
        if self.context_chars < 1:
            raise ConfigError("routing.context_chars", "must be >= 1")
        if self.temperature <= 0:
            raise ConfigError("routing.temperature", "must be > 0")
        if self.reload_seconds < 0:
            raise ConfigError("routing.reload_seconds", "must be >= 0 (0 = never)")

    def parsed_rules(self) -> list[tuple[str, str]]:
        """[(glob, expert)] in order."""
        return [parse_rule(rule) for rule in self.rules]


ASK_LLMS = ("local", "openai", "")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass
class AskConfig:
    """`mochi ask` / mochi.ask: who answers, and how much of the index it reads."""

    llm: Literal["local", "openai", ""] = field(
        default="local",
        metadata={
            "help": "local: the model of [model]; openai: an OpenAI-compatible server at "
            "url (Ollama, llama.cpp, vLLM); '' = none."
        },
    )
    url: str = field(default="", metadata={"help": "e.g. http://127.0.0.1:11434 (Ollama)."})
    model: str = field(default="", metadata={"help": "The model name that server serves."})
    api_key_env: str = field(
        default="",
        metadata={"help": "The environment variable that holds the API key ('' = none)."},
    )
    max_sources: int = field(default=5, metadata={"help": "Sources given to the LLM."})
    candidates: int = field(default=20, metadata={"help": "Hits reranked to pick them."})
    source_chars: int = field(default=1500, metadata={"help": "Most characters per source."})
    max_tokens: int = field(default=384, metadata={"help": "Longest answer, in tokens."})
    timeout_seconds: float = field(
        default=120.0, metadata={"help": "Longest wait for the server (connect or next piece)."}
    )

    def __post_init__(self) -> None:
        if self.llm not in ASK_LLMS:
            raise ConfigError("ask.llm", f"must be one of {list(ASK_LLMS)}")
        if self.llm == "openai" and not self.url:
            raise ConfigError("ask.url", "is required when ask.llm = 'openai'")
        if self.url and not self.url.startswith(("http://", "https://")):
            raise ConfigError("ask.url", "must start with http:// or https://")
        if self.api_key_env and not _ENV_NAME.fullmatch(self.api_key_env):
            raise ConfigError(
                "ask.api_key_env", "must name an environment variable (the key stays there)"
            )
        for name in ("max_sources", "candidates", "source_chars", "max_tokens"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"ask.{name}", "must be > 0")
        if self.candidates < self.max_sources:
            raise ConfigError("ask.candidates", "must be >= ask.max_sources")
        if self.timeout_seconds <= 0:
            raise ConfigError("ask.timeout_seconds", "must be > 0")


@dataclass
class MochiConfig(RagConfig):
    completion: CompletionConfig = field(default_factory=CompletionConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    memory: MemoryConfig = field(default_factory=MemoryConfig)
    hover: HoverConfig = field(default_factory=HoverConfig)
    diagnostics: DiagnosticsConfig = field(default_factory=DiagnosticsConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    server: ServerConfig = field(default_factory=ServerConfig)
    ask: AskConfig = field(default_factory=AskConfig)
    routing: RoutingConfig = field(default_factory=RoutingConfig)


def load_config(
    root: Path,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> MochiConfig:
    env = os.environ if environ is None else environ
    return load_workspace_config(MochiConfig, root, environ=env, overrides=overrides)
