"""Downloading a model folder from the Hugging Face hub."""

from __future__ import annotations

import shutil
from pathlib import Path

from mochi.server.models.errors import ModelStoreError

# What a causal LM needs to load with transformers; skips duplicate .bin/.pt/.gguf weights.
ALLOW_PATTERNS = [
    "*.json",
    "*.safetensors",
    "*.model",
    "*.txt",
    "*.jinja",
    "*.py",
    "tokenizer*",
]

IMPORT_HINT = "copy the model to this machine and run `mochi models import FILE.gguf|DIR`"


def download_snapshot(hub_id: str, dest: Path) -> None:
    """Download `hub_id`'s model files into the folder `dest`."""
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError
    except ImportError as exc:
        raise ModelStoreError(
            f"pulling from the hub needs huggingface_hub: pip install huggingface_hub ({exc})"
        ) from exc
    try:
        snapshot_download(repo_id=hub_id, local_dir=dest, allow_patterns=ALLOW_PATTERNS)
    except (RepositoryNotFoundError, GatedRepoError) as exc:
        raise ModelStoreError(
            f"{hub_id!r} is not a model you can download from the Hugging Face hub "
            f"(unknown, private or gated: {type(exc).__name__}); {IMPORT_HINT}"
        ) from exc
    except Exception as exc:
        raise ModelStoreError(
            f"cannot download {hub_id!r}: the Hugging Face hub is unreachable "
            f"({type(exc).__name__}: {_first_line(exc)}); {IMPORT_HINT}"
        ) from exc
    shutil.rmtree(dest / ".cache", ignore_errors=True)  # huggingface_hub's download metadata


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else ""
