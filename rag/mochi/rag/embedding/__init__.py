"""Dense (sentence-transformers) and sparse (BM25-style) encoders."""

from mochi.rag.embedding.dense import SentenceTransformerEmbedder, resolve_model
from mochi.rag.embedding.sparse import Bm25SparseEncoder, code_tokens

__all__ = ["Bm25SparseEncoder", "SentenceTransformerEmbedder", "code_tokens", "resolve_model"]
