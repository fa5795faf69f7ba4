"""The default chunker: picks the chunking that fits each kind of document."""

from __future__ import annotations

import logging

from mochi.rag.chunking.commit import commit_chunk
from mochi.rag.chunking.grammars import GrammarCache, GrammarUnavailable
from mochi.rag.chunking.pages import PageChunker
from mochi.rag.chunking.sections import SectionChunker
from mochi.rag.chunking.treesitter import TreeSitterChunker
from mochi.rag.chunking.unit_specs import unit_spec
from mochi.rag.chunking.window import WindowChunker
from mochi.rag.types import Chunk, DocKind, Document

log = logging.getLogger(__name__)

_SECTIONED = frozenset({"markdown", "rst", "asciidoc"})


class DefaultChunker:
    """Implements the Chunker protocol for every document kind.

    CODE: syntax units via tree-sitter where the language has a grammar, else
    (or when the grammar cannot be loaded) the sliding window. DOC: sections for
    Markdown, reStructuredText and AsciiDoc, pages for PDF text. COMMIT: one
    chunk. TEXT: the sliding window. Every chunk's text is at most `max_chars`.
    """

    def __init__(
        self,
        max_chars: int = 1500,
        window_lines: int = 40,
        window_overlap: int = 10,
        grammars: GrammarCache | None = None,
    ) -> None:
        self.max_chars = max_chars
        self._window = WindowChunker(window_lines, window_overlap, max_chars)
        self._code = TreeSitterChunker(max_chars, grammars)
        self._sections = SectionChunker(max_chars)
        self._pages = PageChunker(max_chars)
        self._no_grammar: set[str] = set()

    def chunk(self, doc: Document) -> list[Chunk]:
        if not doc.text.strip():
            return []
        if doc.kind is DocKind.CODE:
            return self._code_chunks(doc)
        if doc.kind is DocKind.DOC:
            if doc.language == "pdf":
                return self._pages.chunk(doc)
            if doc.language in _SECTIONED:
                return self._sections.chunk(doc)
        if doc.kind is DocKind.COMMIT:
            return [commit_chunk(doc, self.max_chars)]
        return self._window.chunk(doc)

    def _code_chunks(self, doc: Document) -> list[Chunk]:
        if unit_spec(doc.language) is None or doc.language in self._no_grammar:
            return self._window.chunk(doc)
        try:
            return self._code.chunk(doc)
        except (GrammarUnavailable, ImportError) as exc:
            log.warning("%s; %s files are chunked by line windows", exc, doc.language)
            self._no_grammar.add(doc.language)
            return self._window.chunk(doc)
