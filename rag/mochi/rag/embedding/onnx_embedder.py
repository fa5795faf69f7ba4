"""Dense embeddings through onnxruntime on CPU, from a model that onnx_export cached.

Texts are tokenized in one call, sorted by token count and batched, so a batch pads
only to its own longest text; pooling and normalisation follow the model's own
sentence-transformers modules. torch is not imported once the model is cached.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mochi.rag.embedding.onnx_export import (
    MODEL_FILE,
    TOKENIZER_FILE,
    OnnxModelMeta,
    OnnxVariant,
    cached_onnx_model,
    require_onnxruntime,
)

log = logging.getLogger(__name__)


class OnnxEmbedder:
    """Implements the Embedder protocol; thread-safe (one forward pass at a time)."""

    def __init__(
        self,
        model: str = "all-MiniLM-L6-v2",
        *,
        cache_root: Path,
        variant: OnnxVariant = "onnx-int8",
        batch_size: int = 32,
        max_seq_length: int = 256,
        threads: int = 0,
        query_prefix: str = "",
        passage_prefix: str = "",
        trust_remote_code: bool = False,
    ) -> None:
        ort = require_onnxruntime()
        from tokenizers import Tokenizer

        self.folder = cached_onnx_model(
            cache_root, model, variant, trust_remote_code=trust_remote_code
        )
        self.meta = OnnxModelMeta.read(self.folder)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session: Any = ort.InferenceSession(
            str(self.folder / MODEL_FILE), options, providers=["CPUExecutionProvider"]
        )
        self._tokenizer = Tokenizer.from_file(str(self.folder / TOKENIZER_FILE))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(min(max_seq_length, self.meta.max_seq_length))
        self._name = model
        self._variant = variant
        self._batch_size = batch_size
        self._query_prefix = query_prefix
        self._passage_prefix = passage_prefix
        self._lock = threading.Lock()
        self.seconds_encoding = 0.0  # wall time spent inside the model, for benchmarks

    @property
    def dim(self) -> int:
        return self.meta.dim

    @property
    def model_id(self) -> str:
        """The model and the back end: vectors of different back ends are not mixed."""
        return f"{self._name}+{self._variant}"

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        return self._encode([self._passage_prefix + t for t in texts])

    def embed_query(self, text: str) -> list[float]:
        return self._encode([self._query_prefix + text])[0]

    def _encode(self, texts: Sequence[str]) -> list[list[float]]:
        if self.meta.lower_case:
            texts = [t.lower() for t in texts]
        with self._lock:
            started = time.perf_counter()
            encodings = self._tokenizer.encode_batch(list(texts))
            order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
            out = np.zeros((len(texts), self.meta.dim), dtype=np.float32)
            for start in range(0, len(order), self._batch_size):
                rows = order[start : start + self._batch_size]
                out[rows] = self._forward([encodings[i] for i in rows])
            self.seconds_encoding += time.perf_counter() - started
        return [row.tolist() for row in out]

    def _forward(self, encodings: Sequence[Any]) -> NDArray[np.float32]:
        width = max(len(e.ids) for e in encodings)
        ids = np.full((len(encodings), width), self.meta.pad_id, dtype=np.int64)
        mask = np.zeros_like(ids)
        types = np.zeros_like(ids)
        for row, e in enumerate(encodings):
            n = len(e.ids)
            ids[row, :n], mask[row, :n], types[row, :n] = e.ids, e.attention_mask, e.type_ids
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        hidden = self._session.run(None, {n: feeds[n] for n in self.meta.input_names})[0]
        if self.meta.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        # Always unit length, as the torch back end (normalize_embeddings=True).
        pooled = pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return np.asarray(pooled, dtype=np.float32)
