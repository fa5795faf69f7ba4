"""Chunks of closing punctuation alone (``}``, ``};``) folded into a neighbour."""

from __future__ import annotations

import re

from mochi.rag.chunking.lines import LineIndex
from mochi.rag.types import Chunk

_ALNUM = re.compile(r"[^\W_]")


def join_trivia(chunks: list[Chunk], lines: LineIndex, max_chars: int) -> list[Chunk]:
    """Fold chunks of closing punctuation alone (``}``, ``};``) into the chunk above
    (else below) when only blank lines lie between and the cap allows."""
    out: list[Chunk] = []
    carry: Chunk | None = None  # trivia waiting to be prepended to the next chunk
    for chunk in chunks:
        if carry is not None:
            merged = _joined(carry, chunk, lines, max_chars)
            if merged is None:
                out.append(carry)
            else:
                chunk = merged
            carry = None
        if _is_trivia(chunk, lines):
            merged = _joined(out[-1], chunk, lines, max_chars) if out else None
            if merged is not None:
                out[-1] = merged
            else:
                carry = chunk
            continue
        out.append(chunk)
    if carry is not None:
        out.append(carry)
    return out


def _is_trivia(chunk: Chunk, lines: LineIndex) -> bool:
    return _ALNUM.search(chunk.text) is None and _whole(chunk, lines)


def _whole(chunk: Chunk, lines: LineIndex) -> bool:
    return chunk.text == lines.span(chunk.start_line, chunk.end_line)


def _joined(first: Chunk, second: Chunk, lines: LineIndex, max_chars: int) -> Chunk | None:
    """`first` extended over `second` (keeping the non-trivia one's identity), if allowed."""
    if not (first.end_line < second.start_line and _whole(first, lines) and _whole(second, lines)):
        return None
    if any(not lines.is_blank(n) for n in range(first.end_line + 1, second.start_line)):
        return None
    if lines.size(first.start_line, second.end_line) > max_chars:
        return None
    keep = second if _is_trivia(first, lines) else first
    return Chunk(
        doc_key=keep.doc_key,
        text=lines.span(first.start_line, second.end_line),
        kind=keep.kind,
        language=keep.language,
        start_line=first.start_line,
        end_line=second.end_line,
        symbol=keep.symbol,
        context=keep.context,
    )
