"""Documents into chunks: code by syntax unit, docs by section, the rest by window."""

from mochi.rag.chunking.dispatch import DefaultChunker
from mochi.rag.chunking.grammars import GrammarCache, GrammarUnavailable
from mochi.rag.chunking.pages import PageChunker
from mochi.rag.chunking.sections import SectionChunker
from mochi.rag.chunking.treesitter import TreeSitterChunker
from mochi.rag.chunking.window import WindowChunker

__all__ = [
    "DefaultChunker",
    "GrammarCache",
    "GrammarUnavailable",
    "PageChunker",
    "SectionChunker",
    "TreeSitterChunker",
    "WindowChunker",
]
