"""Find the word and the code unit (function, method, class) at a position."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mochi.rag.chunking import DefaultChunker
from mochi.rag.languages import classify
from mochi.rag.types import Chunk, Document

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
UNIT_KINDS = ("function", "method", "class")


def word_at(text: str, line: int, character: int) -> str | None:
    lines = text.split("\n")
    if not 0 <= line < len(lines):
        return None
    for match in _IDENT.finditer(lines[line]):
        if match.start() <= character <= match.end():
            return match.group()
    return None


@dataclass(frozen=True, slots=True)
class CodeUnit:
    kind: str
    symbol: str
    start_line: int  # 1-based
    end_line: int
    text: str
    language: str

    @property
    def name(self) -> str:
        return self.symbol.rsplit(".", 1)[-1]


def unit_at(
    path: str, text: str, line: int, chunker: DefaultChunker | None = None
) -> CodeUnit | None:
    """The innermost function/method/class whose lines hold `line` (0-based)."""
    language, kind = classify(path)
    doc = Document(path, text, kind, language, "")
    chunks: list[Chunk] = (chunker or DefaultChunker()).chunk(doc)
    target = line + 1
    holding = [c for c in chunks if c.kind in UNIT_KINDS and c.start_line <= target <= c.end_line]
    if not holding:
        return None
    best = min(holding, key=lambda c: (c.end_line - c.start_line, c.kind != "method"))
    # A long unit may be split; take the whole unit's lines from the source.
    pieces = [c for c in chunks if c.symbol == best.symbol and c.kind == best.kind]
    start = min(c.start_line for c in pieces)
    end = max(c.end_line for c in pieces)
    source = "\n".join(text.split("\n")[start - 1 : end])
    return CodeUnit(best.kind, best.symbol, start, end, source, language)
