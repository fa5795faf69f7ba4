"""What the language server is built from. The composition root (`default_services`)
builds the real parts from the configuration; tests pass their own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mochi.rag.index import WorkspaceIndex, open_workspace_index
from mochi.server.config import MochiConfig
from mochi.server.generation import Generator
from mochi.server.routing import ExpertRouter, RuleRouter
from mochi.server.trainer_client import NoTrainer, TrainingClient


@dataclass
class Services:
    open_index: Callable[[Path, MochiConfig], WorkspaceIndex]
    make_generator: Callable[[MochiConfig, Path], Generator]
    make_trainer: Callable[[MochiConfig], TrainingClient] = lambda _config: NoTrainer()
    router: ExpertRouter = field(default_factory=RuleRouter)


def _open_index(root: Path, config: MochiConfig) -> WorkspaceIndex:
    return open_workspace_index(root, config)


def default_services() -> Services:
    from mochi.server.generation.factory import make_generator

    return Services(open_index=_open_index, make_generator=make_generator)
