"""What a dataset build is asked for (DatasetSpec), what it returns, and its card."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Protocol

from mochi.rag.prompting import ContextSnippet
from mochi.trainer.samples import Sample

SPLITS = ("random", "time")
KINDS = ("fim", "fim-context", "doc-to-code", "file", "commit-to-diff", "diff-to-commit", "qa")


def _check_share(name: str, value: float, *, upper_open: bool = False) -> None:
    ok = 0.0 <= value < 1.0 if upper_open else 0.0 <= value <= 1.0
    if not ok:
        allowed = "0 <= x < 1" if upper_open else "0 <= x <= 1"
        raise ValueError(f"DatasetSpec.{name} must be a share ({allowed}), got {value!r}")


def _check_at_least(name: str, value: int, lowest: int) -> None:
    if value < lowest:
        raise ValueError(f"DatasetSpec.{name} must be >= {lowest}, got {value!r}")


@dataclass
class DatasetSpec:
    fim_rate: float = field(
        default=0.9,
        metadata={"help": "Share of code samples rendered as FIM (the rest are prefix-only)."},
    )
    context_rate: float = field(
        default=0.5,
        metadata={"help": "Share of FIM samples that carry retrieved cross-file context."},
    )
    context_tokens: int = field(
        default=384, metadata={"help": "Token budget of that context (select_snippets)."}
    )
    max_prefix_lines: int = field(
        default=60, metadata={"help": "Lines of the file kept before the middle."}
    )
    max_suffix_lines: int = field(
        default=30, metadata={"help": "Lines of the file kept after the middle."}
    )
    max_middle_lines: int = field(
        default=6, metadata={"help": "Longest middle (whole lines inside one unit)."}
    )
    samples_per_unit: int = field(
        default=2, metadata={"help": "FIM samples drawn from each function, method or class."}
    )
    file_window_lines: int = field(
        default=0,
        metadata={
            "help": "Also train on each code file as plain text, in windows of this many "
            "lines, with the loss on every token (0 = off)."
        },
    )
    docstring_pairs: bool = field(
        default=True, metadata={"help": "Documented function -> its body samples."}
    )
    commit_pairs: bool = field(
        default=True, metadata={"help": "Commit message <-> diff samples, both directions."}
    )
    max_commits: int = field(
        default=300, metadata={"help": "Newest non-merge commits read for commit pairs."}
    )
    max_diff_chars: int = field(
        default=3000, metadata={"help": "Diff text of a commit pair is cut to this many chars."}
    )
    qa_endpoint: str = field(
        default="",
        metadata={"help": "OpenAI-compatible base URL that writes Q/A pairs; '' = none."},
    )
    qa_model: str = field(default="", metadata={"help": "Model name sent to qa_endpoint."})
    qa_max_units: int = field(
        default=50, metadata={"help": "Most code units a Q/A pair is asked for."}
    )
    qa_timeout_s: float = field(
        default=60.0, metadata={"help": "Seconds one Q/A request may take."}
    )
    near_dup_threshold: float = field(
        default=0.85,
        metadata={"help": "Token-shingle Jaccard at or above which two samples are duplicates."},
    )
    split: str = field(
        default="random",
        metadata={"help": "'random' (seeded, by unit) or 'time' (eval on later commits)."},
    )
    eval_fraction: float = field(
        default=0.1, metadata={"help": "Share of units held out for eval (split='random')."}
    )
    split_commit: str = field(
        default="",
        metadata={"help": "split='time': train on the tree here, eval on later commits."},
    )
    seed: int = field(default=0, metadata={"help": "Seed of every random choice."})

    def __post_init__(self) -> None:
        _check_share("fim_rate", self.fim_rate)
        _check_share("context_rate", self.context_rate)
        _check_share("eval_fraction", self.eval_fraction, upper_open=True)
        _check_at_least("context_tokens", self.context_tokens, 0)
        _check_at_least("max_prefix_lines", self.max_prefix_lines, 1)
        _check_at_least("max_suffix_lines", self.max_suffix_lines, 1)
        _check_at_least("max_middle_lines", self.max_middle_lines, 1)
        _check_at_least("samples_per_unit", self.samples_per_unit, 0)
        _check_at_least("file_window_lines", self.file_window_lines, 0)
        _check_at_least("max_commits", self.max_commits, 0)
        _check_at_least("max_diff_chars", self.max_diff_chars, 100)
        _check_at_least("qa_max_units", self.qa_max_units, 0)
        if self.qa_timeout_s <= 0:
            raise ValueError(f"DatasetSpec.qa_timeout_s must be > 0, got {self.qa_timeout_s!r}")
        if not 0.0 < self.near_dup_threshold <= 1.0:
            raise ValueError(
                "DatasetSpec.near_dup_threshold must be in (0, 1] (1 = exact only), "
                f"got {self.near_dup_threshold!r}"
            )
        if self.split not in SPLITS:
            raise ValueError(f"DatasetSpec.split must be one of {SPLITS}, got {self.split!r}")
        if self.split == "time" and not self.split_commit:
            raise ValueError("DatasetSpec.split_commit must name a commit when split='time'")
        if self.qa_endpoint:
            if not self.qa_endpoint.startswith(("http://", "https://")):
                raise ValueError(
                    "DatasetSpec.qa_endpoint must be an http:// or https:// URL, "
                    f"got {self.qa_endpoint!r}"
                )
            if not self.qa_model:
                raise ValueError("DatasetSpec.qa_model must be set when qa_endpoint is")

    def to_json(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, object]) -> DatasetSpec:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})  # type: ignore[arg-type]


class ContextSource(Protocol):
    """Cross-file context for a cursor (ContextBuilder implements it)."""

    def snippets(self, path: str, prefix: str) -> list[ContextSnippet]: ...


@dataclass(frozen=True, slots=True)
class TokenStats:
    """Token counts over a dataset's prompts or completions."""

    min: int = 0
    mean: float = 0.0
    p50: int = 0
    p95: int = 0
    max: int = 0

    def to_json(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, object]) -> TokenStats:
        return cls(
            min=int(data.get("min", 0)),  # type: ignore[call-overload]
            mean=float(data.get("mean", 0.0)),  # type: ignore[arg-type]
            p50=int(data.get("p50", 0)),  # type: ignore[call-overload]
            p95=int(data.get("p95", 0)),  # type: ignore[call-overload]
            max=int(data.get("max", 0)),  # type: ignore[call-overload]
        )


@dataclass
class DatasetCard:
    """What a dataset holds and where it came from (stored as card.json)."""

    counts: dict[str, dict[str, int]]  # split ("train" | "eval") -> kind -> samples
    prompt_tokens: TokenStats
    completion_tokens: TokenStats
    first_commit: str  # oldest commit the samples were taken from ("" = none)
    last_commit: str  # newest one ("" = the working tree only)
    commit_count: int  # commits read for commit pairs and time-split eval
    source: str  # the tree the code samples come from: a sha, or "working tree"
    sha256: str  # hash of the samples (train then eval, canonical JSON)
    spec: dict[str, object]
    created_at: str  # ISO 8601, UTC
    dropped: dict[str, int] = field(default_factory=dict)  # reason -> count

    def total(self, split: str | None = None) -> int:
        splits = [split] if split is not None else list(self.counts)
        return sum(sum(self.counts.get(s, {}).values()) for s in splits)

    def summary(self) -> str:
        """One line for logs."""
        kinds = ", ".join(
            f"{kind} {sum(self.counts.get(s, {}).get(kind, 0) for s in self.counts)}"
            for kind in KINDS
            if any(self.counts.get(s, {}).get(kind, 0) for s in self.counts)
        )
        commits = f"{self.first_commit[:8]}..{self.last_commit[:8]}" if self.last_commit else "none"
        dropped = ", ".join(f"{k} {v}" for k, v in sorted(self.dropped.items()) if v)
        return (
            f"dataset {self.sha256[:12]}: train {self.total('train')}, eval {self.total('eval')}"
            f" ({kinds or 'no samples'}); prompt tokens p50 {self.prompt_tokens.p50}"
            f" max {self.prompt_tokens.max}; commits {commits} ({self.commit_count})"
            f"; source {self.source[:12]}" + (f"; dropped {dropped}" if dropped else "")
        )

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["prompt_tokens"] = self.prompt_tokens.to_json()
        data["completion_tokens"] = self.completion_tokens.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict[str, object]) -> DatasetCard:
        counts = data.get("counts", {})
        spec = data.get("spec", {})
        dropped = data.get("dropped", {})
        prompt = data.get("prompt_tokens", {})
        completion = data.get("completion_tokens", {})
        assert isinstance(counts, dict) and isinstance(spec, dict)
        assert isinstance(dropped, dict) and isinstance(prompt, dict)
        assert isinstance(completion, dict)
        return cls(
            counts={str(s): {str(k): int(v) for k, v in c.items()} for s, c in counts.items()},
            prompt_tokens=TokenStats.from_json(prompt),
            completion_tokens=TokenStats.from_json(completion),
            first_commit=str(data.get("first_commit", "")),
            last_commit=str(data.get("last_commit", "")),
            commit_count=int(data.get("commit_count", 0)),  # type: ignore[call-overload]
            source=str(data.get("source", "")),
            sha256=str(data.get("sha256", "")),
            spec=dict(spec),
            created_at=str(data.get("created_at", "")),
            dropped={str(k): int(v) for k, v in dropped.items()},
        )


@dataclass
class BuiltDataset:
    train: list[Sample]
    eval: list[Sample]
    card: DatasetCard
