"""Identify a base model folder: its id and a hash of its config and weights.

Hashing every byte of a multi-GB checkpoint on each job would cost minutes, so the hash
covers config.json in full and, per weight file, its name, size, the safetensors header
(every tensor's name, dtype, shape and offsets) and its first and last MiB. Two folders
with the same fingerprint hold the same model for any practical purpose.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass
from pathlib import Path

_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf")
_SAMPLE = 1 << 20


@dataclass(frozen=True, slots=True)
class BaseModelId:
    name: str  # readable id: config's _name_or_path when it is a hub id, else the folder name
    fingerprint: str  # sha256 hex (see the module doc)

    def describe(self) -> str:
        return f"{self.name} (sha256 {self.fingerprint[:12]})"


def base_model_id(model_dir: Path) -> BaseModelId:
    return BaseModelId(_model_name(model_dir), base_model_fingerprint(model_dir))


def _model_name(model_dir: Path) -> str:
    try:
        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return model_dir.name
    declared = str(config.get("_name_or_path") or "")
    if declared and not Path(declared).is_absolute() and declared.count("/") == 1:
        return declared
    return model_dir.name


def base_model_fingerprint(model_dir: Path) -> str:
    config = model_dir / "config.json"
    if not config.is_file():
        raise FileNotFoundError(f"{model_dir} is not a model folder (no config.json)")
    digest = hashlib.sha256()
    digest.update(b"config\0" + _canonical_config(config))
    for path in sorted(model_dir.iterdir()):
        if path.is_file() and path.name.endswith(_WEIGHT_SUFFIXES):
            digest.update(_file_fingerprint(path))
    return digest.hexdigest()


def _canonical_config(path: Path) -> bytes:
    data = json.loads(path.read_text(encoding="utf-8"))
    data.pop("_name_or_path", None)  # where it was saved from, not what it is
    data.pop("transformers_version", None)
    return json.dumps(data, sort_keys=True).encode("utf-8")


def _file_fingerprint(path: Path) -> bytes:
    size = path.stat().st_size
    part = hashlib.sha256(f"{path.name}\0{size}\0".encode())
    with path.open("rb") as data:
        if path.suffix == ".safetensors" and size >= 8:
            (header_len,) = struct.unpack("<Q", data.read(8))
            if header_len <= size - 8:
                part.update(data.read(header_len))
        data.seek(0)
        part.update(data.read(_SAMPLE))
        if size > _SAMPLE:
            data.seek(max(_SAMPLE, size - _SAMPLE))
            part.update(data.read(_SAMPLE))
    return part.digest()
