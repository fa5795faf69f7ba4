"""PDF text chunked by page (form feeds) or, without page breaks, by paragraphs."""

from __future__ import annotations

from mochi.rag.chunking.lines import LineIndex, Piece
from mochi.rag.types import Chunk, Document


class PageChunker:
    """One "page" chunk per form-feed separated page (symbol "page N").

    A page over `max_chars` is split by paragraphs, then lines. Text with no form
    feed is cut into "section" chunks of paragraphs grouped up to `max_chars`.
    `context` is the document title (the PDF's title, "" when none).
    """

    def __init__(self, max_chars: int = 1500) -> None:
        if max_chars <= 0:
            raise ValueError(f"max_chars must be positive, got {max_chars}")
        self.max_chars = max_chars

    def chunk(self, doc: Document) -> list[Chunk]:
        lines = LineIndex(doc.text)
        if "\f" not in doc.text:
            pieces = lines.paragraphs(1, lines.count, self.max_chars)
            return [_chunk(doc, piece, "section", "") for piece in pieces]
        chunks: list[Chunk] = []
        for number, first, last in _pages(lines):
            bounds = lines.trim(first, last)
            if bounds is None:
                continue
            if lines.size(*bounds) <= self.max_chars:
                pieces = [Piece(bounds[0], bounds[1], lines.span(*bounds))]
            else:
                pieces = lines.paragraphs(*bounds, self.max_chars)
            chunks.extend(_chunk(doc, piece, "page", f"page {number}") for piece in pieces)
        return chunks


def _pages(lines: LineIndex) -> list[tuple[int, int, int]]:
    """(page number, first line, last line) of each page.

    A line that holds a form feed ends its page when text stands before the feed,
    and opens the next page otherwise.
    """
    pages: list[tuple[int, int, int]] = []
    number, first = 1, 1
    for n in range(1, lines.count + 1):
        line = lines.line(n)
        feeds = line.count("\f")
        if not feeds:
            continue
        if line[: line.index("\f")].strip():
            pages.append((number, first, n))
            first = n + 1
        else:
            pages.append((number, first, n - 1))
            first = n
        number += feeds
    pages.append((number, first, lines.count))
    return [page for page in pages if page[1] <= page[2]]


def _chunk(doc: Document, piece: Piece, kind: str, symbol: str) -> Chunk:
    return Chunk(
        doc_key=doc.key,
        text=piece.text.replace("\f", ""),
        kind=kind,
        language=doc.language,
        start_line=piece.first,
        end_line=piece.last,
        symbol=symbol,
        context=doc.title,
    )
