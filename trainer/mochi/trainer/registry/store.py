"""The adapter registry on disk.

    <root>/<name>/v1/            peft folder + manifest.json (+ fisher, replay files)
    <root>/<name>/v2/
    <root>/<name>/current        "v2"  (replaced atomically)

A version appears all at once: it is copied into a temporary folder beside the versions,
fsynced, then renamed to `vN`. Readers never see half a version; a crash leaves at most
a `.tmp-*` folder, which the next publish sweeps away.
"""

from __future__ import annotations

import builtins
import json
import re
import shutil
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from mochi.trainer.protocol import AdapterView
from mochi.trainer.registry.atomic import (
    CURRENT_FILE,
    VERSION,
    next_version,
    publish_folder,
    publisher_lock,
    sweep_leftovers,
    write_current,
)
from mochi.trainer.registry.base_model import BaseModelId
from mochi.trainer.registry.errors import BaseModelMismatch, RegistryError, UnknownAdapter
from mochi.trainer.registry.manifest import MANIFEST_FILE, Manifest

ADAPTER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def check_adapter_name(name: str) -> str:
    if not ADAPTER_NAME.match(name):
        raise ValueError(
            f"adapter name {name!r} must be 1-64 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    return name


class AdapterRegistry:
    def __init__(self, root: Path) -> None:
        self.root = root

    # -- reading -----------------------------------------------------------------------

    def names(self) -> builtins.list[str]:
        if not self.root.is_dir():
            return []
        return sorted(
            p.name for p in self.root.iterdir() if p.is_dir() and ADAPTER_NAME.match(p.name)
        )

    def versions(self, name: str) -> builtins.list[Manifest]:
        folder = self.root / check_adapter_name(name)
        if not folder.is_dir():
            return []
        found = []
        for path in folder.iterdir():
            match = VERSION.match(path.name)
            if match and (path / MANIFEST_FILE).is_file():
                found.append((int(match.group(1)), Manifest.read(path)))
        return [manifest for _, manifest in sorted(found, key=lambda item: item[0])]

    def current_version(self, name: str) -> str | None:
        pointer = self.root / check_adapter_name(name) / CURRENT_FILE
        try:
            version = pointer.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return version or None

    def path(self, name: str, version: str) -> Path:
        return self.root / check_adapter_name(name) / version

    def get(self, name: str, version: str | None = None) -> Manifest:
        """A version's manifest; `None` means the version in service."""
        chosen = version or self.current_version(name)
        if chosen is None:
            raise UnknownAdapter(f"adapter {name!r} has no version in service yet")
        if not VERSION.match(chosen) or not (self.path(name, chosen) / MANIFEST_FILE).is_file():
            have = ", ".join(m.version for m in self.versions(name)) or "none"
            raise UnknownAdapter(f"adapter {name!r} has no version {chosen!r} (have: {have})")
        return Manifest.read(self.path(name, chosen))

    def views(self, name: str) -> builtins.list[AdapterView]:
        current = self.current_version(name)
        return [self._view(m, current) for m in self.versions(name)]

    def all_views(self) -> builtins.list[AdapterView]:
        return [view for name in self.names() for view in self.views(name)]

    def _view(self, manifest: Manifest, current: str | None) -> AdapterView:
        return AdapterView(
            name=manifest.name,
            version=manifest.version,
            path=str(self.path(manifest.name, manifest.version)),
            base_model=manifest.base_model,
            metrics=dict(manifest.metrics),
            created_at=manifest.created_at,
            current=manifest.version == current,
        )

    @staticmethod
    def check_base(manifest: Manifest, base: BaseModelId) -> None:
        """Refuse to load or continue an adapter on another base model than its own."""
        if manifest.base_model_hash != base.fingerprint:
            raise BaseModelMismatch(
                f"adapter {manifest.name!r} {manifest.version} was trained on base model "
                f"{manifest.base_model} (sha256 {manifest.base_model_hash[:12]}), not on "
                f"{base.describe()}: use its own base model or train a new adapter with "
                "a finetune job"
            )

    # -- writing -----------------------------------------------------------------------

    def publish(
        self,
        source: Path,
        manifest: Manifest,
        *,
        extra_files: Mapping[str, Path] | None = None,
        make_current: bool = True,
    ) -> Manifest:
        """Copy the peft folder `source` (plus `extra_files`: name in the version folder →
        file) in as the next version; returns the manifest as written (version set)."""
        folder = self.root / check_adapter_name(manifest.name)
        folder.mkdir(parents=True, exist_ok=True)
        with publisher_lock(folder):
            sweep_leftovers(folder)
            version = next_version(folder)
            written = replace(manifest, version=version)

            def fill(tmp: Path) -> None:
                shutil.copytree(source, tmp)
                for target, path in (extra_files or {}).items():
                    if Path(target).name != target:
                        raise RegistryError(f"extra file name {target!r} must be a plain name")
                    if path.is_dir():
                        shutil.copytree(path, tmp / target)
                    else:
                        shutil.copy2(path, tmp / target)
                _write_json(tmp / MANIFEST_FILE, written)

            publish_folder(folder, version, fill)
            if make_current:
                write_current(folder, version)
        return written

    def set_current(self, name: str, version: str) -> None:
        self.get(name, version)  # raises UnknownAdapter
        folder = self.root / name
        with publisher_lock(folder):
            write_current(folder, version)


def _write_json(path: Path, manifest: Manifest) -> None:
    with path.open("w", encoding="utf-8") as out:
        json.dump(manifest.to_json(), out, indent=2, sort_keys=True)
        out.write("\n")
