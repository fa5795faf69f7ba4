"""What the language server is built from. The composition root (`default_services`)
builds the real parts from the configuration; tests pass their own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mochi.rag.index import WorkspaceIndex, open_workspace_index
from mochi.rag.paths import data_dir
from mochi.server.config import MochiConfig
from mochi.server.generation import Generator
from mochi.server.routing import ExpertRouter, RuleRouter
from mochi.server.trainer_client import TrainingClient
from mochi.server.trainer_http import make_trainer


@dataclass
class Services:
    open_index: Callable[[Path, MochiConfig], WorkspaceIndex]
    make_generator: Callable[[MochiConfig, Path], Generator]
    make_trainer: Callable[[MochiConfig], TrainingClient] = field(
        default=lambda config: _make_trainer(config)
    )
    router: ExpertRouter = field(default_factory=RuleRouter)


def _open_index(root: Path, config: MochiConfig) -> WorkspaceIndex:
    return open_workspace_index(root, config)


def _make_trainer(config: MochiConfig) -> TrainingClient:
    return make_trainer(config.trainer, data_dir=data_dir(config.data_dir))


def default_services() -> Services:
    from mochi.server.generation.factory import make_generator

    return Services(open_index=_open_index, make_generator=make_generator)
