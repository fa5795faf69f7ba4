"""The API's request and response bodies (pydantic: they make the OpenAPI spec)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mochi.trainer.api.workspace import resolve_workspace
from mochi.trainer.protocol import AdapterView, JobKind, JobRequest, JobState, JobView
from mochi.trainer.registry.store import ADAPTER_NAME


class JobRequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: JobKind
    workspace: str = Field(
        description="absolute path of a git repository or project folder on the daemon's "
        "machine (stored resolved; `/` and folders that are neither are refused)"
    )
    adapter: str = Field(default="default", pattern=ADAPTER_NAME.pattern)
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("workspace")
    @classmethod
    def _project_folder(cls, value: str) -> str:
        return resolve_workspace(value)

    def to_request(self) -> JobRequest:
        return JobRequest(self.kind, self.workspace, self.adapter, dict(self.params))


class ProgressOut(BaseModel):
    stage: str
    done: int
    total: int
    message: str


class JobOut(BaseModel):
    id: str
    kind: JobKind
    state: JobState
    workspace: str
    adapter: str
    params: dict[str, Any]
    created_at: float
    started_at: float | None
    finished_at: float | None
    progress: ProgressOut
    result: dict[str, Any]
    error: str

    @classmethod
    def of(cls, view: JobView) -> JobOut:
        return cls.model_validate(view.to_json())


class AdapterOut(BaseModel):
    name: str
    version: str
    path: str
    base_model: str
    metrics: dict[str, float]
    created_at: float
    current: bool

    @classmethod
    def of(cls, view: AdapterView) -> AdapterOut:
        return cls.model_validate(view.to_json())


class AdapterDetail(BaseModel):
    name: str
    current: str | None
    versions: list[AdapterOut]


class StepOut(BaseModel):
    step: int
    loss: float | None = Field(description="null when the loss was not finite")
    lr: float
    time: float


class LossHistoryOut(BaseModel):
    job_id: str
    steps: list[StepOut] = Field(
        description="one entry per optimizer step, in order; empty for a job that trains nothing"
    )


class ExpertVersionOut(BaseModel):
    version: str
    current: bool
    base_model: str
    commit: str
    commit_range: list[str]
    previous_version: str
    metrics: dict[str, float | None]
    previous_metrics: dict[str, float | None]
    strategy: str
    steps: int
    job_id: str
    job_kind: str = Field(description="the kind of the job that trained it; '' if unknown")
    created_at: float


class ExpertOut(BaseModel):
    name: str
    current: str | None
    base_model: str
    workspaces: list[str] = Field(
        description="the repositories its jobs trained on: each version learns the whole "
        "repository (no per-domain experts yet)"
    )
    versions: list[ExpertVersionOut]


class Health(BaseModel):
    status: str
    queued: int
    running: int
    devices: list[str] | None


class ErrorOut(BaseModel):
    detail: Any


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "missing or wrong bearer token"},
    408: {"model": ErrorOut, "description": "the request body did not arrive in time"},
    413: {"model": ErrorOut, "description": "the request body is over the daemon's limit"},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "no such job or adapter"},
}
