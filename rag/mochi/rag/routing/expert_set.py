"""`expert_set.json`: a versioned set of LoRA experts on one base model and the gate that
routes between them, as the trainer publishes it and the server loads it.

    <set folder>/expert_set.json   this file
    <set folder>/<router>          the gate (JSON), when there is one
    <adapter>                      each expert's peft folder, relative to the set folder
                                   (or absolute)

The trainer publishes versions of a set side by side, `<set>/v1/`, `<set>/v2/`, with
`<set>/current` naming the one in service (`current_set_folder` follows it); its sets
live in `<data dir>/expert-sets/<set>/` (`EXPERT_SETS_DIR`), the `default` set first.

The file carries a `format` number; a reader refuses a format newer than its own and
ignores fields it does not know, so a newer trainer can add some.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mochi.rag.atomic_file import write_atomically

EXPERT_SET_FILE = "expert_set.json"
CURRENT_FILE = "current"  # in a set's folder of versions: the version in service ("v3")
EXPERT_SETS_DIR = "expert-sets"  # in the mochi data directory: a folder of versions per set
DEFAULT_SET = "default"  # the set a train-experts job publishes unless told another name
FORMAT = 1
RULES = ("language", "directory", "kmeans")


class ExpertSetError(ValueError):
    """A missing, unreadable or malformed expert set; the message names the file."""


@dataclass(frozen=True)
class ExpertCard:
    """One expert: where its adapter is and what its domain holds."""

    name: str
    adapter: str  # peft folder, relative to the set folder or absolute
    version: str  # the adapter's version in the registry ("v3")
    languages: tuple[str, ...]
    paths: tuple[str, ...]  # globs of its domain ("pkg_a/*", "*.py")
    samples: int  # training samples of its domain
    centroid: tuple[float, ...] | None = None  # mean unit embedding of its domain

    def __post_init__(self) -> None:
        if not self.name:
            raise ExpertSetError("an expert needs a name")
        if not self.adapter:
            raise ExpertSetError(f"expert {self.name!r} has no adapter folder")
        if self.samples < 0:
            raise ExpertSetError(f"expert {self.name!r}: samples must be >= 0")


@dataclass(frozen=True)
class ExpertSet:
    version: str  # "v1", ... (set by the registry on publish)
    rule: str  # how the domains were cut: one of RULES
    base_model: str
    experts: tuple[ExpertCard, ...]
    router: str | None = None  # gate JSON file, relative to the set folder
    feature_version: int = 0  # mochi.rag.routing.features.FEATURE_VERSION the gate reads
    scores: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise ExpertSetError(f"rule must be one of {', '.join(RULES)}, got {self.rule!r}")
        names = [card.name for card in self.experts]
        if len(set(names)) != len(names):
            raise ExpertSetError(f"expert names repeat: {names}")
        if self.router is not None and (not self.router or Path(self.router).is_absolute()):
            raise ExpertSetError(f"router must be a file relative to the set, got {self.router!r}")

    def card(self, name: str) -> ExpertCard:
        for card in self.experts:
            if card.name == name:
                return card
        raise KeyError(f"no expert {name!r} in expert set {self.version}")

    def adapter_path(self, folder: Path, card: ExpertCard) -> Path:
        """The card's adapter folder, for a set read from `folder`."""
        return Path(folder) / card.adapter  # an absolute `adapter` stays as it is

    def router_path(self, folder: Path) -> Path | None:
        return Path(folder) / self.router if self.router is not None else None


def read_expert_set(folder: Path) -> ExpertSet:
    """The set in `folder`; raises ExpertSetError for a missing or malformed file."""
    path = Path(folder) / EXPERT_SET_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ExpertSetError(f"{path} does not exist: {folder} holds no expert set") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ExpertSetError(f"{path} is not readable JSON: {exc}") from None
    try:
        return _from_json(data)
    except ExpertSetError as exc:
        raise ExpertSetError(f"{path}: {exc}") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise ExpertSetError(f"{path} is malformed: {type(exc).__name__}: {exc}") from None


def current_set_folder(folder: Path) -> Path:
    """`folder` when it holds an expert set; else, for a set's folder of versions as the
    trainer publishes them (`<set>/v1/`, `<set>/v2/`, `<set>/current`), the version in
    service. Raises ExpertSetError when it is neither."""
    folder = Path(folder)
    if (folder / EXPERT_SET_FILE).is_file():
        return folder
    try:
        version = (folder / CURRENT_FILE).read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        raise ExpertSetError(
            f"{folder} holds no {EXPERT_SET_FILE} and no {CURRENT_FILE} pointer"
        ) from None
    if not version or Path(version).name != version:
        raise ExpertSetError(f"{folder / CURRENT_FILE} names no version: {version!r}")
    return folder / version


def write_expert_set(folder: Path, expert_set: ExpertSet) -> None:
    """Write `folder/expert_set.json` atomically (the old file or the new, never half)."""
    text = json.dumps(_to_json(expert_set), indent=2, sort_keys=True) + "\n"
    write_atomically(Path(folder) / EXPERT_SET_FILE, text)


def _to_json(expert_set: ExpertSet) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": expert_set.version,
        "rule": expert_set.rule,
        "base_model": expert_set.base_model,
        "router": expert_set.router,
        "feature_version": expert_set.feature_version,
        # NaN (a score of no samples) is no JSON: such a score is left out
        "scores": {k: float(v) for k, v in expert_set.scores.items() if math.isfinite(v)},
        "experts": [
            {
                "name": card.name,
                "adapter": card.adapter,
                "version": card.version,
                "languages": list(card.languages),
                "paths": list(card.paths),
                "samples": card.samples,
                "centroid": list(card.centroid) if card.centroid is not None else None,
            }
            for card in expert_set.experts
        ],
    }


def _from_json(data: object) -> ExpertSet:
    top = _object(data, "the file")
    version = top.get("format")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ExpertSetError("no 'format' number: not an expert set file")
    if version > FORMAT:
        raise ExpertSetError(f"format {version} is newer than this mochi reads ({FORMAT})")
    experts = top.get("experts")
    if not isinstance(experts, list):
        raise ExpertSetError("'experts' must be a list")
    router = top.get("router")
    scores = _object(top.get("scores", {}), "'scores'")
    return ExpertSet(
        version=_text(top, "version"),
        rule=_text(top, "rule"),
        base_model=_text(top, "base_model"),
        experts=tuple(_card(item, index) for index, item in enumerate(experts)),
        router=None if router is None else _text(top, "router"),
        feature_version=_integer(top, "feature_version", 0),
        scores={str(k): _number(v, f"scores.{k}") for k, v in scores.items()},
    )


def _card(data: object, index: int) -> ExpertCard:
    item = _object(data, f"experts[{index}]")
    centroid = item.get("centroid")
    if centroid is not None and not isinstance(centroid, list):
        raise ExpertSetError(f"experts[{index}].centroid must be a list of numbers or null")
    return ExpertCard(
        name=_text(item, "name"),
        adapter=_text(item, "adapter"),
        version=_text(item, "version"),
        languages=_texts(item, "languages"),
        paths=_texts(item, "paths"),
        samples=_integer(item, "samples", 0),
        centroid=(
            tuple(_number(v, f"experts[{index}].centroid") for v in centroid)
            if centroid is not None
            else None
        ),
    )


def _object(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ExpertSetError(f"{where} must be a JSON object")
    return value


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise ExpertSetError(f"{key!r} must be a string, got {value!r}")
    return value


def _texts(data: dict[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ExpertSetError(f"{key!r} must be a list of strings, got {value!r}")
    return tuple(value)


def _integer(data: dict[str, Any], key: str, default: int) -> int:
    value = data.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ExpertSetError(f"{key!r} must be an integer, got {value!r}")
    return value


def _number(value: object, where: str) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise ExpertSetError(f"{where} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ExpertSetError(f"{where} must be finite, got {value!r}")
    return float(value)
