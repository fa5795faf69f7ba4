"""The index's configuration tree. Every field has a default; `help` says what it does."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from mochi.rag.config.errors import ConfigError

DEFAULT_SECRET_PATHS: tuple[str, ...] = (
    ".env",
    ".env.*",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.keystore",
    "*.jks",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    "*.ppk",
    ".netrc",
    ".pgpass",
    ".git-credentials",
    ".docker/config.json",
    ".npmrc",
    ".pypirc",
    "credentials",
    "credentials.json",
    "*credentials*.json",
    "secrets.*",
    "*.secret",
    ".aws/**",
    ".ssh/**",
    ".gnupg/**",
    "*.kdbx",
)

# Regexes added to the built-in rules of mochi.rag.secrets (token formats, private key
# blocks, values of secret-like names, passwords in prose), which always apply.
DEFAULT_SECRET_PATTERNS: tuple[str, ...] = ()


def _check_positive(key: str, value: int | float) -> None:
    if value <= 0:
        raise ConfigError(key, f"must be > 0, got {value!r}")


@dataclass
class IndexConfig:
    max_file_bytes: int = field(
        default=1_000_000, metadata={"help": "Files larger than this are skipped (counted)."}
    )
    ignore: list[str] = field(
        default_factory=list,
        metadata={"help": "Extra gitignore-style patterns to leave out of the index."},
    )
    include_history: bool = field(
        default=True, metadata={"help": "Index git commits (message, paths, diff summary)."}
    )
    max_commits: int = field(default=1000, metadata={"help": "How many recent commits to index."})
    max_diff_chars: int = field(default=4000, metadata={"help": "Diff summary cap per commit."})
    chunk_max_chars: int = field(default=1500, metadata={"help": "Largest chunk, in characters."})
    pdf: bool = field(default=True, metadata={"help": "Index the text of PDF files."})
    ocr: bool = field(
        default=False,
        metadata={"help": "OCR scanned PDF pages with easyocr (needs the 'ocr' extra)."},
    )
    watch_debounce_ms: int = field(
        default=75, metadata={"help": "Delay between a file change and its re-index."}
    )
    batch_chunks: int = field(
        default=256, metadata={"help": "Chunks embedded and written per batch."}
    )
    density_neighbours: int = field(
        default=5,
        metadata={
            "help": "Neighbours averaged into each chunk's density (for retrieval.hub_penalty);"
            " 0 turns it off."
        },
    )

    def __post_init__(self) -> None:
        for name in ("max_file_bytes", "max_commits", "max_diff_chars", "chunk_max_chars"):
            _check_positive(f"index.{name}", getattr(self, name))
        _check_positive("index.batch_chunks", self.batch_chunks)
        if self.watch_debounce_ms < 0:
            raise ConfigError("index.watch_debounce_ms", "must be >= 0")
        if not 0 <= self.density_neighbours <= 100:
            raise ConfigError(
                "index.density_neighbours", f"must be in [0, 100], got {self.density_neighbours}"
            )


@dataclass
class SecretsConfig:
    paths: list[str] = field(
        default_factory=lambda: list(DEFAULT_SECRET_PATHS),
        metadata={"help": "Gitignore-style patterns of files never indexed."},
    )
    patterns: list[str] = field(
        default_factory=lambda: list(DEFAULT_SECRET_PATTERNS),
        metadata={
            "help": "Regexes added to the built-in secret rules; every match is redacted"
            " (index) or keeps its sample out (datasets)."
        },
    )
    extra_paths: list[str] = field(
        default_factory=list, metadata={"help": "Added to `paths` (keeps the defaults)."}
    )
    extra_patterns: list[str] = field(
        default_factory=list, metadata={"help": "Added to `patterns` (keeps the defaults)."}
    )


@dataclass
class EmbeddingConfig:
    model: str = field(
        default="all-MiniLM-L6-v2",
        metadata={"help": "sentence-transformers model name, hub id or local path."},
    )
    query_prefix: str = field(default="", metadata={"help": "e.g. 'query: ' for e5 models."})
    passage_prefix: str = field(default="", metadata={"help": "e.g. 'passage: ' for e5 models."})
    batch_size: int = field(default=32, metadata={"help": "Texts per forward pass."})
    max_seq_length: int = field(default=256, metadata={"help": "Tokens kept per text."})
    device: str = field(
        default="cpu",
        metadata={"help": "torch device: cpu, cuda, cuda:1, mps; not cpu runs the torch back end."},
    )
    backend: Literal["auto", "torch", "onnx", "onnx-int8"] = field(
        default="auto",
        metadata={
            "help": "auto: onnx-int8 on the CPU when the model exports, else torch;"
            " torch: sentence-transformers; onnx: onnxruntime, fp32 (same vectors);"
            " onnx-int8: onnxruntime, int8 weights, the first block fp32 (3.5x torch's"
            " speed on 2 cores, the same CoSQA MRR). The ONNX model is exported once into"
            " $XDG_CACHE_HOME/mochi/models/onnx. Changing it re-embeds the index."
        },
    )
    threads: int = field(
        default=0, metadata={"help": "onnxruntime threads per forward pass; 0: one per core."}
    )
    trust_remote_code: bool = field(
        default=False, metadata={"help": "Allow the model's own Python code to run (opt-in)."}
    )

    def __post_init__(self) -> None:
        _check_positive("embedding.batch_size", self.batch_size)
        _check_positive("embedding.max_seq_length", self.max_seq_length)
        if self.threads < 0:
            raise ConfigError("embedding.threads", f"must be >= 0, got {self.threads}")
        if not self.model:
            raise ConfigError("embedding.model", "must not be empty")


@dataclass
class StoreConfig:
    backend: Literal["edge", "qdrant"] = field(
        default="edge",
        metadata={"help": "edge: Qdrant Edge in-process; qdrant: a Qdrant server at `url`."},
    )
    url: str = field(default="", metadata={"help": "Qdrant server URL (backend = qdrant)."})
    api_key: str = field(default="", metadata={"help": "Qdrant API key (prefer the env var)."})
    collection: str = field(
        default="", metadata={"help": "Collection name; default derives from the workspace."}
    )

    def __post_init__(self) -> None:
        if self.backend == "qdrant" and not self.url:
            raise ConfigError("store.url", "is required when store.backend = 'qdrant'")
        if self.backend == "edge" and self.url:
            raise ConfigError("store.url", "is only used with store.backend = 'qdrant'")


@dataclass
class RetrievalConfig:
    fusion: Literal["weighted", "rrf"] = field(
        default="weighted",
        metadata={"help": "weighted: normalised score blend; rrf: reciprocal-rank fusion."},
    )
    dense_weight: float = field(
        default=0.9,
        metadata={"help": "Dense share of the blend for natural-language queries (0..1)."},
    )
    code_dense_weight: float = field(
        default=0.5,
        metadata={"help": "Dense share for code-like queries (identifiers, calls) (0..1)."},
    )
    rrf_k: int = field(default=60, metadata={"help": "RRF constant."})
    candidates: int = field(default=100, metadata={"help": "Hits fetched from each retriever."})
    dedupe_similarity: float = field(
        default=0.9, metadata={"help": "Hits this similar (token Jaccard) to a better one drop."}
    )
    hub_penalty: float = field(
        default=0.25,
        metadata={
            "help": "Dense score minus this times the chunk's neighbourhood density: demotes"
            " chunks close to everything (0 turns it off; 0..1)."
        },
    )
    test_penalty: float = field(
        default=0.5,
        metadata={
            "help": "For questions in words that do not ask for tests, test files' scores are"
            " multiplied by 1 minus this (0 turns it off; 0..1)."
        },
    )
    changelog_penalty: float = field(
        default=0.5,
        metadata={
            "help": "Likewise for release notes (CHANGELOG, HISTORY, version sections) unless"
            " the question asks about changes or versions (0 turns it off; 0..1)."
        },
    )
    merge_units: bool = field(
        default=True,
        metadata={"help": "Pieces of one function, class or section make one hit."},
    )

    def __post_init__(self) -> None:
        for name in ("test_penalty", "changelog_penalty"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(
                    f"retrieval.{name}", f"must be in [0, 1], got {getattr(self, name)}"
                )
        if not 0.0 <= self.dense_weight <= 1.0:
            raise ConfigError(
                "retrieval.dense_weight", f"must be in [0, 1], got {self.dense_weight}"
            )
        if not 0.0 <= self.hub_penalty <= 1.0:
            raise ConfigError("retrieval.hub_penalty", f"must be in [0, 1], got {self.hub_penalty}")
        if not 0.0 < self.dedupe_similarity <= 1.0:
            raise ConfigError("retrieval.dedupe_similarity", "must be in (0, 1]")
        _check_positive("retrieval.rrf_k", self.rrf_k)
        _check_positive("retrieval.candidates", self.candidates)


@dataclass
class RagConfig:
    data_dir: str = field(
        default="",
        metadata={"help": "Where indexes and models live; default $XDG_DATA_HOME/mochi."},
    )
    index: IndexConfig = field(default_factory=IndexConfig)
    secrets: SecretsConfig = field(default_factory=SecretsConfig)
    embedding: EmbeddingConfig = field(default_factory=EmbeddingConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
