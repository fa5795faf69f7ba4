"""Several LoRA adapters on one base model (peft), and which one a forward pass uses.

A weighted combination of experts (`adapter_mix`) is served by a merged adapter, made
once with peft's `add_weighted_adapter(..., combination_type="cat")`: its A and B stack
the experts' (A scaled by weight and scale), so its delta is exactly the weighted sum of
theirs, as llama.cpp applies it. The last few merges are kept (LRU); an evicted one is
deleted from the model.

Not thread-safe by itself: the generator holds its model lock around every call.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mochi.server.generation.adapter_mix import (
    AdapterMix,
    experts_of,
    is_weighted,
    mix_label,
    single_adapter,
)
from mochi.server.generation.types import GenerationError

DEFAULT_MAX_MERGES = 4
MERGED_PREFIX = "mochi-merge-"  # the peft names of merged adapters (not experts)

log = logging.getLogger(__name__)


def base_model_mismatch(adapter_dir: Path, model_dir: str) -> str | None:
    """A warning when the adapter says it was trained on another base model, else None.

    Names are compared by their last path component, case-insensitively, so that a hub id
    (`HuggingFaceTB/SmolLM2-135M`) matches a local copy of it (`.../smollm2-135m`).
    """
    try:
        config = json.loads((adapter_dir / "adapter_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    trained_on = str(config.get("base_model_name_or_path") or "")
    if not trained_on:
        return None
    if _short_name(trained_on) == _short_name(model_dir):
        return None
    return (
        f"adapter {adapter_dir} was trained on {trained_on!r}, but the model is {model_dir!r}; "
        "its completions may be poor"
    )


def _short_name(name: str) -> str:
    return name.rstrip("/\\").replace("\\", "/").rsplit("/", 1)[-1].lower()


class LoraAdapters:
    """Owns the (possibly peft-wrapped) model; `model` changes when the first adapter loads."""

    def __init__(
        self,
        model: Any,
        model_dir: str,
        *,
        max_merges: int = DEFAULT_MAX_MERGES,
        on_dropped: Callable[[str], None] | None = None,
    ) -> None:
        """`on_dropped(name)` is called for each merged adapter deleted (evicted, or one of
        its experts replaced): whatever was computed with it is stale."""
        if max_merges < 1:
            raise ValueError(f"max_merges must be >= 1, not {max_merges}")
        self.model = model
        self._model_dir = model_dir
        self._names: list[str] = []
        self._folders: dict[str, Path] = {}
        self._merges: OrderedDict[AdapterMix, str] = OrderedDict()  # least recent first
        self._max_merges = max_merges
        self._on_dropped = on_dropped
        self._serial = 0
        self.merges_made = 0  # weighted merges computed (a cached one is not counted)

    def names(self) -> list[str]:
        return list(self._names)

    def load(self, name: str, path: str) -> None:
        """Add adapter `name` from the folder `path`, replacing one of the same name."""
        from peft import PeftModel

        folder = Path(path).expanduser()
        if not name:
            raise GenerationError("an adapter needs a non-empty name")
        if not (folder / "adapter_config.json").is_file():
            raise GenerationError(
                f"adapter {name!r}: {folder} is not a peft adapter folder (no adapter_config.json)"
            )
        warning = base_model_mismatch(folder, self._model_dir)
        if warning:
            log.warning("%s", warning)
        try:
            if not isinstance(self.model, PeftModel):
                self.model = PeftModel.from_pretrained(self.model, str(folder), adapter_name=name)
            else:
                self._drop_merges_of(name)
                if name in self._names:
                    others = [n for n in self._names if n != name]
                    if others:  # so that peft does not warn about deleting the active one
                        self.model.set_adapter(others[0], inference_mode=True)
                    self.model.delete_adapter(name)
                    self._names.remove(name)
                self.model.load_adapter(str(folder), adapter_name=name)
        except Exception as exc:
            raise GenerationError(
                f"cannot load adapter {name!r} from {folder}: {exc} "
                "(was it trained on a different base model?)"
            ) from exc
        self.model.eval()
        self._folders[name] = folder
        if name not in self._names:
            self._names.append(name)

    def folder(self, name: str) -> Path:
        """The folder adapter `name` was loaded from."""
        self.check(name)
        if name not in self._folders:
            raise GenerationError(f"{name!r} is a weighted merge, not an adapter folder")
        return self._folders[name]

    def merged(self) -> list[str]:
        """The peft names of the cached weighted merges, least recently used first."""
        return list(self._merges.values())

    def serving(self, mix: AdapterMix) -> str | None:
        """The peft adapter that serves `mix` (for `active`): None for the base model, the
        expert itself, or the cached weighted merge of the experts (made on first use)."""
        for name in experts_of(mix):
            self.check(name)
        if not is_weighted(mix):
            return single_adapter(mix)
        merged = self._merges.get(mix)
        if merged is None:
            merged = self._merge(mix)
            self._merges[mix] = merged
            while len(self._merges) > self._max_merges:
                _, evicted = self._merges.popitem(last=False)
                self._delete_merge(evicted)
        self._merges.move_to_end(mix)
        return merged

    def check(self, name: str | None) -> None:
        """Raise GenerationError when `name` is not a loaded adapter (None = the base model)."""
        if name is None or name in self._names or name in self._merges.values():
            return
        available = ", ".join(sorted(self._names)) or "none loaded"
        raise GenerationError(f"unknown adapter {name!r}; available adapters: {available}")

    @contextmanager
    def active(self, name: str | None) -> Iterator[None]:
        """Run the model with adapter `name`, or with no adapter (the base) for None."""
        self.check(name)
        if name is None:
            if self._names:
                with self.model.disable_adapter():
                    yield
            else:
                yield
            return
        self.model.set_adapter(name, inference_mode=True)
        yield

    def _merge(self, mix: AdapterMix) -> str:
        self._serial += 1
        name = f"{MERGED_PREFIX}{self._serial}"
        try:
            self.model.add_weighted_adapter(
                adapters=list(experts_of(mix)),
                weights=[weight for _, weight in mix],
                adapter_name=name,
                combination_type="cat",
            )
        except Exception as exc:
            if name in getattr(self.model, "peft_config", {}):  # half made
                self.model.delete_adapter(name)
            raise GenerationError(f"cannot combine the adapters {mix_label(mix)}: {exc}") from exc
        _unit_scaling(self.model, name)
        self.model.eval()  # the merge's new modules (dropout) are made in training mode
        self.merges_made += 1
        log.info("merged adapter %s = %s", name, mix_label(mix))
        return name

    def _delete_merge(self, name: str) -> None:
        if self._names:  # so that peft does not warn about deleting the active one
            self.model.set_adapter(self._names[0], inference_mode=True)
        self.model.delete_adapter(name)
        if self._on_dropped is not None:
            self._on_dropped(name)

    def _drop_merges_of(self, expert: str) -> None:
        """Delete the merges that hold `expert` (it is being replaced)."""
        for mix in [m for m in self._merges if expert in experts_of(m)]:
            self._delete_merge(self._merges.pop(mix))


def _unit_scaling(model: Any, name: str) -> None:
    """The merge's A already holds each expert's weight and scale, so its own scale must be
    1 (peft sets alpha = r, but copies rsLoRA from the first expert: alpha / sqrt(r))."""
    for module in model.modules():
        scaling = getattr(module, "scaling", None)
        if isinstance(scaling, dict) and name in scaling:
            scaling[name] = 1.0
