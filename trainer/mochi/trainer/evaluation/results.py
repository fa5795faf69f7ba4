"""`results.jsonl`: one line per (configuration, task), appended and flushed as each is
done, so an interrupted run resumes where it stopped."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import IO


@dataclass(frozen=True, slots=True)
class Result:
    config: str
    task: str  # Task.id
    prediction: str
    seconds: float


def read_results(path: Path) -> dict[tuple[str, str], Result]:
    """The results recorded so far; a line cut short by a crash is ignored."""
    done: dict[tuple[str, str], Result] = {}
    if not path.is_file():
        return done
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            try:
                result = Result(**json.loads(line))
            except (ValueError, TypeError):
                continue
            done[(result.config, result.task)] = result
    return done


class ResultLog:
    """Appends results; each line is flushed and synced before `add` returns."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def add(self, result: Result) -> None:
        if self._file is None:
            self._file = self._open()
        self._file.write(json.dumps(asdict(result), ensure_ascii=False) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def _open(self) -> IO[str]:
        # A crash may have left a last line without its newline: end it first.
        if self.path.is_file() and self.path.stat().st_size > 0:
            with self.path.open("rb") as existing:
                existing.seek(-1, os.SEEK_END)
                ends_cleanly = existing.read(1) == b"\n"
            if not ends_cleanly:
                with self.path.open("a", encoding="utf-8") as fix:
                    fix.write("\n")
        return self.path.open("a", encoding="utf-8")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> ResultLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
