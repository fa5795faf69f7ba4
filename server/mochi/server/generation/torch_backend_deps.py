"""The heavy libraries of the in-process back end, imported only when it is built."""

from __future__ import annotations

import importlib

from mochi.server.generation.types import GenerationError

INSTALL_HINT = "pip install mochi (torch, transformers and peft are core dependencies)"


def require_torch_backend() -> None:
    """Import torch, transformers and peft, or say how to install them."""
    for module in ("torch", "transformers", "peft"):
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise GenerationError(
                f"the transformers back end needs {module}, which is not installed "
                f"({exc}): {INSTALL_HINT}"
            ) from exc
