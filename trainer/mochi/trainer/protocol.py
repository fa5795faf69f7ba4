"""The request/response types shared by the training daemon and its clients.

This is the only module of `mochi.trainer` the language server imports
(ARCHITECTURE.md: server → trainer.protocol). Plain dataclasses and JSON; no
heavy imports.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
TOKEN_FILE = "trainer-token"  # in the mochi data directory, mode 0600
# A job's event stream sends a comment at least this often when nothing happens, so that
# a client can tell a quiet job from a daemon that went away.
EVENTS_KEEPALIVE_SECONDS = 15.0


def token_path(data_dir: Path) -> Path:
    """Where the daemon writes its bearer token and the server reads it."""
    return data_dir / TOKEN_FILE


class JobKind(StrEnum):
    FINETUNE = "finetune"  # train an adapter on the workspace as it is now
    CONTINUAL = "continual"  # continue an adapter on the commits since it was trained (EWC)
    BUILD_DATASET = "build-dataset"  # only build and save the dataset (with its card)
    EVAL = "eval"  # score an adapter version (or the base model) on held-out data
    TRAIN_EXPERTS = "train-experts"  # one LoRA expert per domain + the gate, as an expert set


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)


@dataclass(frozen=True, slots=True)
class JobRequest:
    """What a client submits. `params` are validated by the daemon (4xx names the field)."""

    kind: JobKind
    workspace: str  # absolute path of the repository on the daemon's machine
    adapter: str = "default"  # the registry name the result is published under
    params: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "workspace": self.workspace,
            "adapter": self.adapter,
            "params": dict(self.params),
        }


@dataclass(frozen=True, slots=True)
class JobProgress:
    stage: str = ""  # "dataset", "train", "fisher", "eval", "publish"
    done: int = 0
    total: int = 0
    message: str = ""
    # The daemon's estimate for the rest of the stage at its rate so far (None: too early).
    seconds_left: float | None = None

    @property
    def percentage(self) -> int:
        return 0 if self.total <= 0 else min(100, int(100 * self.done / self.total))


@dataclass(frozen=True, slots=True)
class JobView:
    id: str
    kind: JobKind
    state: JobState
    workspace: str
    adapter: str
    params: dict[str, Any]
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    progress: JobProgress = field(default_factory=JobProgress)
    # On success: e.g. {"published": true, "version": "v3", "path": ".../adapters/x/v3",
    # "metrics": {...}}; {"published": false, "reason": "..."} when the eval gate refused it.
    result: dict[str, Any] = field(default_factory=dict)
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind.value
        data["state"] = self.state.value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobView:
        progress = data.get("progress") or {}
        return cls(
            id=str(data["id"]),
            kind=JobKind(data["kind"]),
            state=JobState(data["state"]),
            workspace=str(data.get("workspace", "")),
            adapter=str(data.get("adapter", "")),
            params=dict(data.get("params") or {}),
            created_at=float(data.get("created_at") or 0.0),
            started_at=data.get("started_at"),
            finished_at=data.get("finished_at"),
            progress=JobProgress(**progress),
            result=dict(data.get("result") or {}),
            error=str(data.get("error") or ""),
        )


@dataclass(frozen=True, slots=True)
class AdapterView:
    """One published adapter version in the registry."""

    name: str
    version: str  # "v1", "v2", ...
    path: str  # peft folder the server (transformers) or vLLM loads
    base_model: str
    metrics: dict[str, float] = field(default_factory=dict)
    created_at: float = 0.0
    current: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AdapterView:
        return cls(
            name=str(data["name"]),
            version=str(data["version"]),
            path=str(data["path"]),
            base_model=str(data.get("base_model", "")),
            metrics={k: float(v) for k, v in (data.get("metrics") or {}).items()},
            created_at=float(data.get("created_at") or 0.0),
            current=bool(data.get("current", False)),
        )
