"""Build the router that `[routing]` describes: the rule router, or a learned router
over an expert set's gate (else its centroids), with the set's adapters loaded into the
generator. Blocking (reads files, loads adapters): run it off the event loop.

Where the set is (`expert_set_folder`): `routing.expert_set` names a folder (absolute,
`~/...`, or relative to the workspace: one version with its expert_set.json, or a set's
folder of versions whose `current` pointer names the version in service) or a bare set
name, `<data dir>/expert-sets/<name>` as the trainer publishes it. Left empty with
`mode = "learned"`, the trainer's `default` set serves once one is published."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from mochi.rag.routing import FEATURE_VERSION, CentroidGate, Gate, GateError, LinearGate
from mochi.rag.routing.expert_set import (
    DEFAULT_SET,
    EXPERT_SET_FILE,
    EXPERT_SETS_DIR,
    ExpertSet,
    current_set_folder,
    read_expert_set,
)
from mochi.rag.routing.features import EmbedTexts
from mochi.server.config import RoutingConfig
from mochi.server.generation import Generator
from mochi.server.routing.learned_router import LearnedRouter
from mochi.server.routing.router import ExpertRouter, RuleRouter

log = logging.getLogger(__name__)


class RoutingSetupError(ValueError):
    """The expert set or its gate cannot be used; the message says what to fix."""


@runtime_checkable
class UnloadsAdapters(Protocol):
    """A generator that can drop an adapter (the Generator protocol cannot yet)."""

    def unload_adapter(self, name: str) -> None: ...


@dataclass(frozen=True)
class LoadedExpertSet:
    folder: Path  # the version in service (`current` followed)
    expert_set: ExpertSet
    gate: Gate | None  # the trained gate, else the centroid gate, else None
    source: Path | None = None  # the configured folder (a set's versions, or `folder`)
    stamp: int = 0  # expert_set.json's mtime_ns when read (served_version compares it)

    def domain_rules(self) -> list[tuple[str, str]]:
        """The cards' domains as rules ('pkg_a' -> 'pkg_a/**'), for mode = "rules"."""
        rules = []
        for card in self.expert_set.experts:
            for path in card.paths:
                glob = path if any(c in path for c in "*?[") else f"{path.rstrip('/')}/**"
                rules.append((glob, card.name))
        return rules


def expert_set_folder(settings: RoutingConfig, root: Path, data_dir: Path) -> Path | None:
    """The folder `settings.expert_set` names (a version or a set's folder of versions),
    None when no set is asked for. A bare name is the trainer's set of that name when it
    exists, else a folder of the workspace when that exists, else the trainer's (not
    published yet: `served_version` notices when it is)."""
    value = settings.expert_set
    if not value:
        return data_dir / EXPERT_SETS_DIR / DEFAULT_SET if settings.mode == "learned" else None
    if _bare_name(value):
        published = data_dir / EXPERT_SETS_DIR / value
        return root / value if not published.is_dir() and (root / value).is_dir() else published
    folder = Path(value).expanduser()
    return folder if folder.is_absolute() else root / folder


def _bare_name(value: str) -> bool:
    """'default' is a name; './default', 'sets/default', '~' and '..' are paths."""
    return Path(value).name == value and value not in (".", "..") and not value.startswith("~")


def served_version(folder: Path) -> tuple[Path, int] | None:
    """The version of the set in `folder` that is in service and its expert_set.json's
    mtime_ns: what changes when the trainer publishes. None when there is none (yet) or it
    cannot be read. Two stat calls and a small read: cheap enough to poll."""
    try:
        version = current_set_folder(folder)
        return version, (version / EXPERT_SET_FILE).stat().st_mtime_ns
    except (ValueError, OSError):  # ExpertSetError: no set (yet), or a broken pointer
        return None


def load_expert_set(
    folder: Path,
    generator: Generator,
    temperature: float,
    previous: LoadedExpertSet | None = None,
) -> LoadedExpertSet:
    """Read the set in `folder` (following its `current` pointer), load each expert's
    adapter into `generator` (an expert of the same name is replaced), drop `previous`
    experts the new set no longer has (where the generator can), and build its gate."""
    version = current_set_folder(folder)  # raises ExpertSetError (a ValueError)
    stamp = _stamp(version)
    expert_set = read_expert_set(version)
    gate = _gate(version, expert_set, temperature)  # a bad gate loads no adapter
    for card in expert_set.experts:
        generator.load_adapter(card.name, str(expert_set.adapter_path(version, card)))
    if previous is not None and isinstance(generator, UnloadsAdapters):
        gone = {card.name for card in previous.expert_set.experts} - {
            card.name for card in expert_set.experts
        }
        for name in sorted(gone & set(generator.adapters())):
            generator.unload_adapter(name)
    return LoadedExpertSet(version, expert_set, gate, Path(folder), stamp)


def _stamp(version: Path) -> int:
    try:
        return (version / EXPERT_SET_FILE).stat().st_mtime_ns
    except OSError:
        return 0  # read_expert_set says what is wrong


def _gate(folder: Path, expert_set: ExpertSet, temperature: float) -> Gate | None:
    router = expert_set.router_path(folder)
    if router is not None:
        if expert_set.feature_version not in (0, FEATURE_VERSION):
            raise RoutingSetupError(
                f"the expert set's router reads route features v{expert_set.feature_version}, "
                f"this mochi v{FEATURE_VERSION}: train the experts' router again"
            )
        try:
            return LinearGate.load(router)
        except GateError as exc:
            raise RoutingSetupError(str(exc)) from None
    centroids = {c.name: c.centroid for c in expert_set.experts if c.centroid is not None}
    if not centroids:
        return None
    try:
        return CentroidGate.from_centroids(centroids, temperature)
    except GateError as exc:
        raise RoutingSetupError(f"{folder}: {exc}") from None


def build_router(
    settings: RoutingConfig,
    default: ExpertRouter,
    embed: EmbedTexts | None,
    loaded: LoadedExpertSet | None = None,
    pinned: str | None = None,
) -> ExpertRouter:
    """The router for `settings`, pinned to `pinned` (mochi.selectExpert's choice, kept
    across a rebuild). `default` (the services' router) serves when nothing is
    configured: no rules, no expert set."""
    rules = settings.parsed_rules()
    if settings.mode == "learned":
        if loaded is None or loaded.gate is None:
            raise RoutingSetupError(
                "routing.mode = 'learned' needs an expert set with a router or centroids: "
                "set routing.expert_set, or train one (mochi.train, kind 'train-experts', "
                "publishes the 'default' set)"
            )
        if embed is None:
            raise RoutingSetupError("routing.mode = 'learned' needs an embedder (the index's)")
        return LearnedRouter(
            loaded.gate,
            embed,
            threshold=settings.threshold,
            top_k=settings.top_k,
            rules=rules,
            pinned=pinned,
            context_chars=settings.context_chars,
        )
    if loaded is not None:
        rules += loaded.domain_rules()
    if rules:
        return RuleRouter(rules, pinned)
    default.select(pinned)
    return default
