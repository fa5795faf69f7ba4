"""Several LoRA adapters on one base model (peft), and which one a forward pass uses.

Not thread-safe by itself: the generator holds its model lock around every call.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mochi.server.generation.types import GenerationError

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

    def __init__(self, model: Any, model_dir: str) -> None:
        self.model = model
        self._model_dir = model_dir
        self._names: list[str] = []

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
        if name not in self._names:
            self._names.append(name)

    def check(self, name: str | None) -> None:
        """Raise GenerationError when `name` is not a loaded adapter (None = the base model)."""
        if name is None or name in self._names:
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
