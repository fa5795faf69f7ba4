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

    def summary(self) -> str:
        parts = [
            f"{self.docs_seen} documents",
            f"{self.docs_changed} changed",
            f"{self.docs_removed} removed",
            f"{self.chunks_embedded} chunks embedded",
            f"{self.chunks_reused} reused",
            f"{self.chunks_deleted} deleted",
            f"{self.chunks_total} in the index",
            f"{self.skips.total()} files skipped",
        ]
        text = ", ".join(parts) + f" in {self.seconds:.1f} s"
        return text + (" (cancelled)" if self.cancelled else "")
