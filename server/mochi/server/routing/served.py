"""What a workspace serves besides the base model: the expert set in service (with the
folder it is watched in) and the trainer's adapter versions loaded. Plain logic, no LSP:
`lsp/experts.py` asks it what changed and puts the change in place."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mochi.rag.routing.features import EmbedTexts
from mochi.server.routing.factory import LoadedExpertSet, served_version
from mochi.trainer.protocol import AdapterView


@dataclass
class ServedExperts:
    # The folder `routing.expert_set` resolves to (expert_set_folder); None: no set asked.
    source: Path | None = None
    loaded: LoadedExpertSet | None = None  # the set version in service
    # The trainer's adapter versions by name (hook- or job-published): name -> the path
    # loaded (or refused by the generator: not tried again until another version).
    adapters: dict[str, str] = field(default_factory=dict)
    # The learned router's embedder when no index lends its own (built once, kept).
    embed: EmbedTexts | None = None
    # A version that failed to load (served_version's answer): not tried again until the
    # trainer publishes another.
    refused: tuple[Path, int] | None = None

    def set_changed(self) -> bool:
        """Whether another version of the watched set is in service than the one loaded
        (the trainer moved `current`, or rewrote the version). Blocking (stat calls)."""
        if self.source is None:
            return False
        now = served_version(self.source)
        if now is None or now == self.refused:  # none yet, a broken pointer, a bad set
            return False
        return self.loaded is None or (self.loaded.folder, self.loaded.stamp) != now

    def label(self) -> str | None:
        """'default v2': the set and version in service, None without one."""
        loaded = self.loaded
        if loaded is None:
            return None
        return f"{self.set_name()} {loaded.expert_set.version}".strip()

    def set_name(self) -> str:
        """The set's name: its folder of versions' ('' for a version folder served as it is)."""
        loaded = self.loaded
        if loaded is None or self.source is None or self.source == loaded.folder:
            return ""
        return self.source.name

    def describe(self) -> dict[str, Any] | None:
        """The set in service, for mochi.status."""
        loaded = self.loaded
        if loaded is None:
            return None
        return {
            "name": self.set_name(),
            "version": loaded.expert_set.version,
            "folder": str(loaded.folder),
            "experts": {card.name: card.version for card in loaded.expert_set.experts},
            "gate": type(loaded.gate).__name__ if loaded.gate is not None else None,
        }

    def adapters_to_load(
        self, current: list[AdapterView], configured: set[str]
    ) -> list[AdapterView]:
        """The trainer's versions in service that are not loaded yet (a newer version of
        one loaded counts), less those configured by hand (model.adapters wins) and the
        served set's own experts (`<set>.<expert>`: the set loads them by expert name)."""
        name = self.set_name()
        experts = f"{name}." if name else None
        return [
            view
            for view in current
            if view.name not in configured
            and not (experts and view.name.startswith(experts))
            and self.adapters.get(view.name) != view.path
        ]
