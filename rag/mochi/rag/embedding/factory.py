"""Build the dense embedder that `embedding.backend` names (auto, onnx-int8, onnx or torch)."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

from mochi.rag.config.schema import EmbeddingConfig
from mochi.rag.embedding.dense import EmbeddingModelError
from mochi.rag.embedding.onnx_export import OnnxVariant
from mochi.rag.protocols import Embedder

log = logging.getLogger(__name__)


def onnx_cache_root(environ: Mapping[str, str] | None = None) -> Path:
    """Where exported ONNX models live: $XDG_CACHE_HOME/mochi/models/onnx (else
    ~/.cache/...). A cache, not data: it can always be made again from the model, and
    every index (every data dir) of the user shares it, so a model is exported once."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "mochi" / "models" / "onnx"


def build_dense_embedder(config: EmbeddingConfig, cache_root: Path | None = None) -> Embedder:
    """The embedder for `config`; the ONNX back ends cache their export in `cache_root`
    (default `onnx_cache_root()`).

    A device other than cpu needs torch, so it runs the torch back end whatever
    `backend` says (onnxruntime here runs on CPU only).
    """
    backend = config.backend
    if backend != "torch" and config.device != "cpu":
        log.info("embedding.device = %s: using the torch back end", config.device)
        backend = "torch"
    if backend == "torch":
        return _torch(config)
    if backend == "auto":
        try:
            return _onnx(config, "onnx-int8", cache_root)
        except EmbeddingModelError as exc:  # a model the export does not cover
            log.warning("embedding.backend = auto: %s; using the torch back end", exc)
            return _torch(config)
    return _onnx(config, backend, cache_root)


def _torch(config: EmbeddingConfig) -> Embedder:
    from mochi.rag.embedding.dense import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(
        config.model,
        device=config.device,
        batch_size=config.batch_size,
        max_seq_length=config.max_seq_length,
        query_prefix=config.query_prefix,
        passage_prefix=config.passage_prefix,
        trust_remote_code=config.trust_remote_code,
    )


def _onnx(config: EmbeddingConfig, variant: OnnxVariant, cache_root: Path | None) -> Embedder:
    from mochi.rag.embedding.onnx_embedder import OnnxEmbedder

    return OnnxEmbedder(
        config.model,
        cache_root=cache_root or onnx_cache_root(),
        variant=variant,
        batch_size=config.batch_size,
        max_seq_length=config.max_seq_length,
        threads=config.threads,
        query_prefix=config.query_prefix,
        passage_prefix=config.passage_prefix,
        trust_remote_code=config.trust_remote_code,
    )
