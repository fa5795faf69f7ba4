"""`manifest.json`: what an adapter version is, what it was trained on, how it scored."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MANIFEST_FILE = "manifest.json"


@dataclass(frozen=True)
class Manifest:
    name: str
    version: str  # "v1", "v2", ... (set by the registry on publish)
    base_model: str  # readable id of the base model
    base_model_hash: str  # registry.base_model.base_model_fingerprint
    dataset_hash: str = ""  # the dataset card's sha256
    commit: str = ""  # the workspace commit the adapter is trained up to
    commit_range: list[str] = field(default_factory=list)  # [from, to] of the dataset card
    metrics: dict[str, float] = field(default_factory=dict)  # eval scores of this version
    previous_metrics: dict[str, float] = field(default_factory=dict)  # of the one it replaced
    previous_version: str = ""  # the version in service when this one was gated
    fisher: str = ""  # file name (in the version folder) of the EWC Fisher diagonal
    replay: str = ""  # file name of the replay buffer
    strategy: str = ""  # "lora", "qlora", "dora", "full"
    steps: int = 0
    job_id: str = ""
    created_at: float = field(default_factory=time.time)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        return cls.from_json(json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8")))
