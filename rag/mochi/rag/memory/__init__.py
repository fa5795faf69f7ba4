"""The token memory of a repository (kNN-LM, Khandelwal et al. 2020): for every token of
the code, the language model's hidden state before it (the key) and the token itself (the
value). At decoding, the model's distribution is mixed with one over the values of the
keys nearest to its current state, so it can write what this repository writes.

The model is not in here: keys come from a `TokenEncoder` (the language server's
generation back end). Here: the crash-safe store (`store`), the search (`neighbours`) and
the sync that keeps the store in step with the workspace by content hash (`sync`).
"""

from mochi.rag.memory.neighbours import TokenNeighbours
from mochi.rag.memory.store import MemoryStore
from mochi.rag.memory.sync import MemoryReport, TokenEncoder, memory_text, sync_memory

__all__ = [
    "MemoryReport",
    "MemoryStore",
    "TokenEncoder",
    "TokenNeighbours",
    "memory_text",
    "sync_memory",
]
