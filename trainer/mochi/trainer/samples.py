"""A training or evaluation sample, and how a dataset is stored (JSON lines)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Sample:
    """`prompt` is conditioning (no loss); `completion` is what the model learns to write.

    For a fill-in-the-middle sample the prompt is the server's completion prompt
    (`mochi.rag.prompting.build_prompt`: optional context block, path line, FIM
    template around prefix and suffix) and the completion is the middle plus the
    template's end token.
    """

    prompt: str
    completion: str
    kind: str  # "fim", "fim-context", "doc-to-code", "commit-to-diff", "diff-to-commit", "qa"
    path: str = ""  # source file (repo-relative POSIX), "" for commit samples
    commit: str = ""  # sha the text was taken from ("" = the working tree)
    time: int = 0  # commit time (unix seconds) that decides time-based splits

    def to_json(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Sample:
        return cls(
            prompt=str(data["prompt"]),
            completion=str(data["completion"]),
            kind=str(data.get("kind", "")),
            path=str(data.get("path", "")),
            commit=str(data.get("commit", "")),
            time=int(data.get("time", 0)),  # type: ignore[call-overload]
        )


def write_samples(path: Path, samples: Iterable[Sample]) -> int:
    """Write JSON lines atomically (temp file, then rename); returns the count."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    count = 0
    with tmp.open("w", encoding="utf-8") as out:
        for sample in samples:
            out.write(json.dumps(sample.to_json(), ensure_ascii=False) + "\n")
            count += 1
    tmp.replace(path)
    return count


def read_samples(path: Path) -> Iterator[Sample]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield Sample.from_json(json.loads(line))
