"""`mochi mcp`'s own model (local mode): built from the workspace config on first use,
with the adapters the training daemon has in service, and picked per file by the same
router rules as completions."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from mochi.rag.paths import data_dir
from mochi.server.config import MochiConfig
from mochi.server.generation.scoring import Scorer, scorer_of
from mochi.server.generation.types import GenerationError, Generator
from mochi.server.mcp.backend import ToolUnavailable
from mochi.server.routing import ExpertRouter, RuleRouter
from mochi.server.trainer_client import TrainingClient
from mochi.server.trainer_http import make_trainer
from mochi.server.training_jobs import current_adapters

log = logging.getLogger(__name__)
T = TypeVar("T")
GeneratorFactory = Callable[[MochiConfig, Path], Generator]


def cannot_score(backend: str) -> ToolUnavailable:
    return ToolUnavailable(
        f"the {backend} back end cannot score text, which rank_candidates needs: "
        "set model.backend = 'transformers' (the in-process model) for it"
    )


def _default_factory(config: MochiConfig, root: Path) -> Generator:
    from mochi.server.generation.factory import make_generator

    return make_generator(config, root)


def _default_trainer(config: MochiConfig) -> TrainingClient:
    return make_trainer(config.trainer, data_dir=data_dir(config.data_dir))


class LazyModel:
    """A `ModelSource` that loads the model the first time a tool needs it; one model
    call at a time (a CPU model is not faster in parallel)."""

    def __init__(
        self,
        config: MochiConfig,
        root: Path,
        *,
        make_generator: GeneratorFactory = _default_factory,
        make_trainer: Callable[[MochiConfig], TrainingClient] = _default_trainer,
        router: ExpertRouter | None = None,
    ) -> None:
        self._config = config
        self._root = root
        self._make_generator = make_generator
        self._make_trainer = make_trainer
        # model.expert pins one expert, as for `mochi check`; else the router's rules.
        self._router = router or RuleRouter(pinned=config.model.expert or None)
        self._generator: Generator | None = None
        self._error = ""
        self._lock = threading.RLock()

    def run(self, work: Callable[[], T]) -> T:
        with self._lock:
            return work()

    def scorer(self) -> Scorer:
        backend = self._config.model.backend
        if backend not in ("transformers", "auto"):  # known before loading anything
            raise cannot_score(backend)
        generator = self._loaded()
        scorer = scorer_of(generator)
        if scorer is None:
            raise cannot_score(generator.info().backend)
        return scorer

    def adapter_for(self, path: str, language: str) -> str | None:
        generator = self._loaded()
        return self._router.choose(path, language, generator.adapters())

    def model_id(self) -> str:
        return self._loaded().info().model_id

    def generator(self) -> Generator:
        return self._loaded()

    def describe(self) -> dict[str, Any]:
        generator = self._generator
        return {
            "backend": self._config.model.backend,
            "loaded": generator is not None,
            "adapters": generator.adapters() if generator is not None else [],
            "error": self._error,
        }

    def close(self) -> None:
        with self._lock:
            if self._generator is not None:
                self._generator.close()
                self._generator = None

    def _loaded(self) -> Generator:
        with self._lock:
            if self._generator is not None:
                return self._generator
            if self._error:
                raise ToolUnavailable(f"no model: {self._error}")
            log.info("mochi mcp: loading the model")
            try:
                generator = self._make_generator(self._config, self._root)
            except Exception as exc:
                self._error = str(exc) or type(exc).__name__
                log.warning("cannot load the model", exc_info=True)
                raise ToolUnavailable(f"no model: {self._error}") from None
            self._load_published(generator)
            self._generator = generator
            return generator

    def _load_published(self, generator: Generator) -> None:
        """The daemon's versions in service, as the language server loads them at start."""
        configured = set(self._config.model.adapters)
        for view in current_adapters(self._make_trainer(self._config)):
            if view.name in configured:
                continue
            try:
                generator.load_adapter(view.name, view.path)
            except GenerationError as exc:
                log.warning("cannot load adapter %r from %s: %s", view.name, view.path, exc)
