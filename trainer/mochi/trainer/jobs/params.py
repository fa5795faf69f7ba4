"""Job parameters, validated when a job is submitted (the API answers 422 naming the field).

base_model      local HF model folder (default: the daemon's --base-model)
train           TrainParams fields (finetune, continual)
dataset         DatasetSpec fields (all kinds)
gate_tolerance  how much worse than the version in service a new one may score and
                still be published: relative for the eval loss, absolute for the
                next-line exact match (finetune, continual)
gate_commits    the newest commits held out of training: the new version must complete
                their lines better than the one in service (or the base model);
                0 = gate on held-out samples only (finetune, continual)
gate_tasks      the most of those lines completed per version (bounds the gate's cost)
gate_samples    the most held-out dataset samples scored per version for the loss and
                next-line exact match (bounds the gate's cost; finetune, continual)
max_samples     eval only: the most held-out samples scored (0 = all)
version         eval only: "current" (default), "vN", or "base" (no adapter)
trust_remote_code  passed to transformers when loading the base model
rule            train-experts: how the data is cut into domains, "language" (default),
                "directory" or "kmeans" (of the files' embeddings)
min_samples     train-experts: a smaller domain joins another instead of getting an expert
clusters        train-experts: k of the kmeans rule
retrain_all     train-experts: cut the domains again and retrain every expert (else only
                the experts whose domains the commits since the set in service touched)
router_samples  train-experts: the most held-out samples the gate is trained on
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mochi.trainer.jobs.errors import ParamsError
from mochi.trainer.protocol import JobKind

DEFAULT_GATE_TOLERANCE = 0.02
DEFAULT_GATE_COMMITS = 3
DEFAULT_GATE_TASKS = 40
# Each sample costs a greedy line of generation per version, and a first job on httpx
# spent most of 45 silent minutes scoring 197 of them (and the Fisher): the gate scores
# at most this many per version.
DEFAULT_GATE_SAMPLES = 48
DEFAULT_MIN_DOMAIN_SAMPLES = 32
DEFAULT_CLUSTERS = 4
DEFAULT_ROUTER_SAMPLES = 256
_VERSION = re.compile(r"^(current|base|v[1-9][0-9]*)$")


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    base_model: str | None = Field(default=None, min_length=1)
    dataset: dict[str, Any] = Field(default_factory=dict)
    trust_remote_code: bool = False

    @field_validator("base_model")
    @classmethod
    def _absolute_folder(cls, value: str | None) -> str | None:
        if value is not None and not Path(value).is_absolute():
            raise ValueError("must be an absolute path of a local model folder")
        return value


class BuildDatasetParams(_Params):
    pass


class TrainJobParams(_Params):
    train: dict[str, Any] = Field(default_factory=dict)
    gate_tolerance: float = Field(default=DEFAULT_GATE_TOLERANCE, ge=0.0, le=1.0)
    gate_commits: int = Field(default=DEFAULT_GATE_COMMITS, ge=0, le=1000)
    gate_tasks: int = Field(default=DEFAULT_GATE_TASKS, ge=1, le=10_000)
    gate_samples: int = Field(default=DEFAULT_GATE_SAMPLES, ge=1, le=100_000)


class TrainExpertsParams(TrainJobParams):
    rule: Literal["language", "directory", "kmeans"] = "language"
    min_samples: int = Field(default=DEFAULT_MIN_DOMAIN_SAMPLES, ge=1, le=1_000_000)
    clusters: int = Field(default=DEFAULT_CLUSTERS, ge=1, le=64)
    retrain_all: bool = False
    router_samples: int = Field(default=DEFAULT_ROUTER_SAMPLES, ge=0, le=100_000)


class EvalParams(_Params):
    version: str = "current"
    max_samples: int = Field(default=0, ge=0, le=1_000_000)

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not _VERSION.match(value):
            raise ValueError("must be 'current', 'base' or a version like 'v3'")
        return value


PARAMS_MODELS: dict[JobKind, type[_Params]] = {
    JobKind.BUILD_DATASET: BuildDatasetParams,
    JobKind.FINETUNE: TrainJobParams,
    JobKind.CONTINUAL: TrainJobParams,
    JobKind.EVAL: EvalParams,
    JobKind.TRAIN_EXPERTS: TrainExpertsParams,
}


def parse_params(kind: JobKind, params: dict[str, Any]) -> _Params:
    """The envelope only (no TrainParams / DatasetSpec check); raises ParamsError."""
    try:
        return PARAMS_MODELS[kind].model_validate(params)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in ("params", *first["loc"]))
        raise ParamsError(where, first["msg"]) from None


def validate_params(kind: JobKind, params: dict[str, Any]) -> _Params:
    """Everything a job needs checked before it is queued; raises ParamsError naming the
    field, e.g. `params.train.rank: rank must be ≥ 1, got 0`."""
    parsed = parse_params(kind, params)
    from mochi.trainer.datasets.spec import DatasetSpec

    _build("params.dataset", DatasetSpec, parsed.dataset)
    if isinstance(parsed, TrainJobParams):
        from mochi.trainer.training.params import TrainParams

        _build("params.train", TrainParams, parsed.train)
    return parsed


def _build(where: str, cls: type[Any], values: dict[str, Any]) -> Any:
    known = {f.name: f for f in dataclasses.fields(cls)}
    for key, value in values.items():
        if key not in known:
            raise ParamsError(f"{where}.{key}", f"unknown key; known: {', '.join(sorted(known))}")
        _check_type(f"{where}.{key}", known[key].type, value)
    try:
        return cls(**values)
    except (ValueError, TypeError) as exc:
        message = str(exc)
        named = [name for name in known if re.search(rf"\b{re.escape(name)}\b", message)]
        field = f"{where}.{named[0]}" if named else where
        raise ParamsError(field, message) from None


def _check_type(where: str, declared: object, value: object) -> None:
    expected: dict[str, tuple[type, ...]] = {
        "str": (str,),
        "int": (int,),
        "float": (int, float),
        "bool": (bool,),
    }
    allowed = expected.get(str(declared))
    if allowed is None:
        return
    if isinstance(value, bool) and bool not in allowed:
        raise ParamsError(where, f"must be of type {declared}, got {value!r}")
    if not isinstance(value, allowed):
        raise ParamsError(where, f"must be of type {declared}, got {value!r}")
