from mochi.rag.retrieval.fusion import rrf_fusion, weighted_fusion
from mochi.rag.retrieval.hybrid import HybridRetriever

__all__ = ["HybridRetriever", "rrf_fusion", "weighted_fusion"]
