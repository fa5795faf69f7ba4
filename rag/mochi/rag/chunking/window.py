"""The fallback: a sliding window of lines with overlap."""

from __future__ import annotations

from mochi.rag.chunking.lines import LineIndex
from mochi.rag.types import Chunk, Document


class WindowChunker:
    """Chunks of `window_lines` lines, kind "window", overlapping by `overlap` lines.

    Blank lines at a window's edges are left out and a window over `max_chars`
    is packed into several chunks.
    """

    def __init__(self, window_lines: int = 40, overlap: int = 10, max_chars: int = 1500) -> None:
        if window_lines <= 0:
            raise ValueError(f"window_lines must be positive, got {window_lines}")
        if not 0 <= overlap < window_lines:
            raise ValueError(f"window_overlap must be in [0, window_lines), got {overlap}")
        if max_chars <= 0:
            raise ValueError(f"max_chars must be positive, got {max_chars}")
        self.window_lines = window_lines
        self.overlap = overlap
        self.max_chars = max_chars

    def chunk(self, doc: Document) -> list[Chunk]:
        lines = LineIndex(doc.text)
        count = lines.count
        chunks: list[Chunk] = []
        reached = 0  # last line of the last chunk
        start = 1
        while start <= count:
            end = min(start + self.window_lines - 1, count)
            for piece in lines.pack(start, end, self.max_chars):
                if piece.last <= reached:
                    continue  # only blank lines of this window were new
                reached = max(reached, piece.last)
                chunks.append(
                    Chunk(
                        doc_key=doc.key,
                        text=piece.text,
                        kind="window",
                        language=doc.language,
                        start_line=piece.first,
                        end_line=piece.last,
                    )
                )
            if end == count:
                break
            start += self.window_lines - self.overlap
        return chunks
