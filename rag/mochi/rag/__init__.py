"""mochi.rag: sources, chunking, embedding, the Qdrant store and retrieval.

Imports neither `mochi.server` nor `mochi.trainer`.
"""
