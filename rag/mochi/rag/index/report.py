from __future__ import annotations

from dataclasses import dataclass, field

from mochi.rag.types import SkipCounts


@dataclass(slots=True)
class IndexReport:
    """What one sync did. `chunks_embedded` counts texts that went through the model."""

    docs_seen: int = 0
    docs_changed: int = 0
    docs_removed: int = 0
    chunks_embedded: int = 0
    chunks_reused: int = 0
    chunks_moved: int = 0
    chunks_deleted: int = 0
    chunks_total: int = 0
    seconds: float = 0.0
    seconds_embedding: float = 0.0
    seconds_density: float = 0.0
    cancelled: bool = False
    skips: SkipCounts = field(default_factory=SkipCounts)
    secrets_redacted: int = 0  # secrets replaced by the redaction mark, in documents kept
    redacted_examples: list[str] = field(default_factory=list)  # up to 5 document keys

    def add_redactions(self, key: str, count: int) -> None:
        self.secrets_redacted += count
        if len(self.redacted_examples) < 5:
            self.redacted_examples.append(key)

    def summary(self) -> str:
        parts = [
            f"{self.docs_seen} documents seen",
            f"{self.docs_changed} changed",
            f"{self.docs_removed} removed",
            f"{self.chunks_embedded} chunks embedded",
            f"{self.chunks_reused} reused",
            f"{self.chunks_deleted} deleted",
            f"{self.chunks_total} in the index",
            f"{self.skips.total()} files skipped",
        ]
        if self.secrets_redacted:
            parts.append(f"{self.secrets_redacted} secrets redacted")
        text = ", ".join(parts) + f" in {self.seconds:.1f} s"
        return text + (" (cancelled)" if self.cancelled else "")
