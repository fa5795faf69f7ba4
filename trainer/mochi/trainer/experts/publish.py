"""The expert-set registry on disk, beside the adapter registry:

    <root>/<set>/v1/expert_set.json  the set (mochi.rag.routing.expert_set), its cards
                                     pointing at the experts' adapter versions in the
                                     adapter registry (relative paths)
    <root>/<set>/v1/router.json      the gate, when one was trained
    <root>/<set>/v1/published.json   what the trainer needs to continue the set
    <root>/<set>/current             "v1" (replaced atomically)

A version appears all at once, as an adapter version does (registry/store.py): written
into a `.tmp-*` folder beside the versions, fsynced, renamed to `vN`; then `current`
is replaced. A crash leaves the old set in service and at most a `.tmp-*` folder, which
the next publish sweeps away. The experts' adapters are published (each atomically)
before the set that names them, so a set never points at a missing adapter.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from mochi.rag.routing.expert_set import (
    CURRENT_FILE,
    EXPERT_SETS_DIR,
    ExpertSet,
    ExpertSetError,
    read_expert_set,
    write_expert_set,
)
from mochi.trainer.registry.atomic import (
    VERSION,
    next_version,
    publish_folder,
    publisher_lock,
    sweep_leftovers,
    version_numbers,
    write_current,
)
from mochi.trainer.registry.errors import RegistryError, UnknownAdapter
from mochi.trainer.registry.store import check_adapter_name

PUBLISHED_FILE = "published.json"
ROUTER_FILE = "router.json"


@dataclass(frozen=True)
class SetRecord:
    """The trainer's side of a published set (the server does not read it)."""

    job_id: str
    commit: str  # the workspace commit every expert of the set is current up to
    base_model_hash: str
    created_at: float = field(default_factory=time.time)

    @classmethod
    def read(cls, folder: Path) -> SetRecord:
        data = json.loads((folder / PUBLISHED_FILE).read_text(encoding="utf-8"))
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class PublishedSet:
    name: str
    folder: Path  # <root>/<set>/vN
    expert_set: ExpertSet
    record: SetRecord


def expert_sets_root(adapters_root: Path) -> Path:
    """Where a daemon whose adapter registry is `adapters_root` keeps its expert sets."""
    return adapters_root.parent / EXPERT_SETS_DIR


class ExpertSetRegistry:
    def __init__(self, root: Path) -> None:
        self.root = root

    def versions(self, name: str) -> list[str]:
        folder = self.root / check_adapter_name(name)
        if not folder.is_dir():
            return []
        return [f"v{n}" for n in sorted(version_numbers(folder))]

    def current(self, name: str) -> PublishedSet | None:
        """The set in service, None when there is none yet."""
        try:
            pointer = (self.root / check_adapter_name(name) / CURRENT_FILE).read_text("utf-8")
        except FileNotFoundError:
            return None
        return self.get(name, pointer.strip())

    def get(self, name: str, version: str) -> PublishedSet:
        folder = self.root / check_adapter_name(name) / version
        if not VERSION.match(version) or not folder.is_dir():
            have = ", ".join(self.versions(name)) or "none"
            raise UnknownAdapter(f"expert set {name!r} has no version {version!r} (have: {have})")
        try:
            return PublishedSet(name, folder, read_expert_set(folder), SetRecord.read(folder))
        except (OSError, ValueError, TypeError) as exc:
            raise RegistryError(f"expert set {name!r} {version} is unreadable: {exc}") from None

    def by_job(self, name: str, job_id: str) -> PublishedSet | None:
        """The version a job published (a job resumed after its daemon died mid-publish)."""
        for version in reversed(self.versions(name)):
            found = self.get(name, version)
            if found.record.job_id == job_id:
                return found
        return None

    def publish(
        self,
        name: str,
        expert_set: ExpertSet,
        record: SetRecord,
        *,
        router: Path | None = None,
    ) -> PublishedSet:
        """`expert_set` (its version is set here; cards' absolute adapter folders are
        written relative to the new version's folder) as the next version, in service."""
        folder = self.root / check_adapter_name(name)
        folder.mkdir(parents=True, exist_ok=True)
        with publisher_lock(folder):
            sweep_leftovers(folder)
            version = next_version(folder)
            written = _relative_to(
                replace(expert_set, version=version, router=ROUTER_FILE if router else None),
                folder / version,
            )

            def fill(tmp: Path) -> None:
                tmp.mkdir()
                if router is not None:
                    shutil.copy2(router, tmp / ROUTER_FILE)
                (tmp / PUBLISHED_FILE).write_text(
                    json.dumps(asdict(record), indent=2, sort_keys=True) + "\n", "utf-8"
                )
                write_expert_set(tmp, written)

            final = publish_folder(folder, version, fill)
            write_current(folder, version)
        return PublishedSet(name, final, written, record)


def set_scores(metrics: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """A set's scores from its experts' (each on its own domain's held-out samples): the
    held-out loss and next-line exact match weighted by those samples' count, the count,
    and each expert's own as "<expert>.<score>"."""
    scores: dict[str, float] = {}
    total = sum(m.get("count", 0.0) for m in metrics.values())
    for key in ("loss", "next_line_em"):
        if total > 0:
            weighted = sum(m.get(key, 0.0) * m.get("count", 0.0) for m in metrics.values())
            scores[key] = weighted / total
    scores["count"] = total
    for name, found in metrics.items():
        for key, value in found.items():
            scores[f"{name}.{key}"] = float(value)
    return scores


def _relative_to(expert_set: ExpertSet, folder: Path) -> ExpertSet:
    cards = []
    for card in expert_set.experts:
        adapter = Path(card.adapter)
        if not adapter.is_absolute():
            raise ExpertSetError(f"expert {card.name!r}: publish takes absolute adapter folders")
        if not adapter.is_dir():
            raise RegistryError(f"expert {card.name!r}: adapter folder {adapter} does not exist")
        cards.append(replace(card, adapter=os.path.relpath(adapter, folder)))
    return replace(expert_set, experts=tuple(cards))
