"""A completion task: a line a commit added, with the file around it, stored as JSON lines."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class Task:
    """Complete `truth` at the start of its line; `prefix + truth + suffix` is the whole file
    as the commit left it (earlier lines of the same commit are already written)."""

    id: str  # "<sha12>:<path>:<line>"
    commit: str
    time: int  # commit time, unix seconds
    path: str  # repository-relative POSIX path
    line: int  # 1-based, in the file after the commit
    language: str
    prefix: str
    suffix: str
    truth: str
    api_names: tuple[str, ...] = ()  # called names defined in another file at the cut

    @property
    def api(self) -> bool:
        """In the API subset: the line calls a function, method or class defined elsewhere."""
        return bool(self.api_names)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["api_names"] = list(self.api_names)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Task:
        return cls(**{**data, "api_names": tuple(data.get("api_names", ()))})


def task_id(commit: str, path: str, line: int) -> str:
    return f"{commit[:12]}:{path}:{line}"


def write_tasks(path: Path, tasks: Iterable[Task]) -> None:
    """JSON lines, written to a temporary file and renamed (never half written)."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as out:
        for task in tasks:
            out.write(json.dumps(task.to_json(), ensure_ascii=False) + "\n")
    tmp.replace(path)


def read_tasks(path: Path) -> list[Task]:
    with path.open(encoding="utf-8") as lines:
        return [Task.from_json(json.loads(line)) for line in lines if line.strip()]
