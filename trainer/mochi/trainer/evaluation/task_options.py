"""How many tasks to take and from where (the sampling caps keep a CPU run short)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TaskOptions:
    max_tasks: int = field(default=200, metadata={"help": "Most tasks in a run."})
    max_per_commit: int = field(default=10, metadata={"help": "Most tasks from one commit."})
    max_per_file: int = field(default=4, metadata={"help": "Most tasks from one file of a commit."})
    languages: tuple[str, ...] = field(
        default=("python",),
        metadata={"help": "Languages (rag.languages names) to take lines from."},
    )
    max_file_bytes: int = field(default=200_000, metadata={"help": "Larger files are skipped."})
    max_line_chars: int = field(default=240, metadata={"help": "Longer lines are skipped."})
    seed: int = field(default=0, metadata={"help": "Seed of the sampling."})

    def __post_init__(self) -> None:
        for name in (
            "max_tasks",
            "max_per_commit",
            "max_per_file",
            "max_file_bytes",
            "max_line_chars",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if not self.languages:
            raise ValueError("languages must name at least one language")

    def to_json(self) -> dict[str, object]:
        return {
            "max_tasks": self.max_tasks,
            "max_per_commit": self.max_per_commit,
            "max_per_file": self.max_per_file,
            "languages": list(self.languages),
            "max_file_bytes": self.max_file_bytes,
            "max_line_chars": self.max_line_chars,
            "seed": self.seed,
        }
