"""A run's training history: one JSON line per optimizer step (step, loss, learning rate,
wall time) in `<folder>/loss.jsonl`, and TensorBoard event files in
`<folder>/tensorboard/` when tensorboardX is installed (the gate's scores go there too).

The JSON lines are the durable record. Each is one `write()` to a file opened for
appending, so a killed process leaves every step it finished and at most one torn line,
which reading skips. A run that resumes from the checkpoint of step N first drops the
lines after N: the history is always that of the run as it went on to the end.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from mochi.trainer.training.tensorboard_events import ScalarWriter, open_scalar_writer

HISTORY_FILE = "loss.jsonl"
TENSORBOARD_DIR = "tensorboard"


@dataclass(frozen=True, slots=True)
class StepRecord:
    step: int  # optimizer steps done (1 for the first)
    loss: float  # mean training loss of the step's micro-batches (NaN if it diverged)
    lr: float  # learning rate the step used
    time: float  # unix time at the end of the step

    def to_json(self) -> dict[str, Any]:
        return {"step": self.step, "loss": self.loss, "lr": self.lr, "time": self.time}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StepRecord:
        return cls(int(data["step"]), float(data["loss"]), float(data["lr"]), float(data["time"]))


class StepLog(Protocol):
    """Told about every optimizer step; the `progress` callback says how far the run is,
    this says how it is going."""

    def begin(self, step: int) -> None:
        """The run starts after `step` optimizer steps (0, or its checkpoint's step)."""
        ...

    def step(self, record: StepRecord) -> None: ...

    def end(self) -> None:
        """The loop has stopped (finished, cancelled or failed)."""
        ...


class RunHistory:
    """The `StepLog` of a job: `loss.jsonl` and TensorBoard events under `folder`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / HISTORY_FILE
        self.tensorboard = folder / TENSORBOARD_DIR
        self._writer: ScalarWriter | None = None

    def begin(self, step: int) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        kept = [r for r in read_history(self.folder) if r.step <= step]
        tmp = self.path.with_name(f".{HISTORY_FILE}.tmp")
        tmp.write_text("".join(_line(r) for r in kept), encoding="utf-8")
        os.replace(tmp, self.path)
        # TensorBoard forgets what an earlier attempt logged after the checkpoint, too.
        self._writer = open_scalar_writer(self.tensorboard, "train", purge_step=step + 1)

    def step(self, record: StepRecord) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, _line(record).encode("utf-8"))
        finally:
            os.close(fd)
        if self._writer is not None:
            self._writer.add_scalar("train/loss", record.loss, record.step, walltime=record.time)
            self._writer.add_scalar("train/lr", record.lr, record.step, walltime=record.time)

    def end(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def gate(
        self,
        step: int,
        candidate: Mapping[str, float],
        reference: Mapping[str, float],
        *,
        published: bool,
    ) -> None:
        """The gate's scores, to TensorBoard at the run's last step: `gate/candidate/<name>`,
        `gate/reference/<name>` (the version in service, or the base model) and
        `gate/published` (1 or 0)."""
        writer = open_scalar_writer(self.tensorboard, "gate")
        if writer is None:
            return
        try:
            for side, scores in (("candidate", candidate), ("reference", reference)):
                for name, value in sorted(scores.items()):
                    writer.add_scalar(f"gate/{side}/{name}", float(value), step)
            writer.add_scalar("gate/published", 1.0 if published else 0.0, step)
        finally:
            writer.close()


def read_history(folder: Path) -> list[StepRecord]:
    """The steps in `folder/loss.jsonl`, in order ([] when there is none)."""
    try:
        text = (folder / HISTORY_FILE).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    records = []
    for line in text.splitlines():
        try:
            records.append(StepRecord.from_json(json.loads(line)))
        except (ValueError, KeyError, TypeError):  # the torn last line of a killed run
            continue
    return records


def _line(record: StepRecord) -> str:
    return json.dumps(record.to_json()) + "\n"
