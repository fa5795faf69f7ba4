"""Dense (sentence-transformers on torch, or onnxruntime) and sparse (BM25-style) encoders."""

from mochi.rag.embedding.dense import SentenceTransformerEmbedder, resolve_model
from mochi.rag.embedding.factory import build_dense_embedder
from mochi.rag.embedding.onnx_embedder import OnnxEmbedder
from mochi.rag.embedding.sparse import Bm25SparseEncoder, code_tokens

__all__ = [
    "Bm25SparseEncoder",
    "OnnxEmbedder",
    "SentenceTransformerEmbedder",
    "build_dense_embedder",
    "code_tokens",
    "resolve_model",
]
