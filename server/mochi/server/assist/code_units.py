"""Find the word and the code unit (function, method, class) at a position."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mochi.rag.chunking import DefaultChunker
from mochi.rag.languages import classify
from mochi.rag.types import Chunk, Document

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Chunks this small split every class but the tiniest into its members (fast: ~0.1 s for
# 2,000 lines; far smaller sizes make the chunker cut lines into windows and crawl).
_MEMBER_CHARS = 40
_QUALIFIER = re.compile(r"((?:[A-Za-z_][A-Za-z0-9_]*\s*\.\s*)+)$")
UNIT_KINDS = ("function", "method", "class")


@dataclass(frozen=True, slots=True)
class Word:
    name: str
    qualifier: str  # the dotted name before it: `a.b` in `a.b.name`; "" when none


def word_at(text: str, line: int, character: int) -> Word | None:
    lines = text.split("\n")
    if not 0 <= line < len(lines):
        return None
    for match in _IDENT.finditer(lines[line]):
        if match.start() <= character <= match.end():
            before = _QUALIFIER.search(lines[line][: match.start()])
            qualifier = re.sub(r"\s", "", before.group(1)).rstrip(".") if before else ""
            return Word(match.group(), qualifier)
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


def code_units(path: str, text: str, *chunkers: DefaultChunker) -> list[CodeUnit]:
    """Every function, method and class the chunkers find in `text`, whole (a long unit
    may be chunked in pieces: its lines are taken from the source), in the order they
    start."""
    language, kind = classify(path)
    doc = Document(path, text, kind, language, "")
    chunks: list[Chunk] = [
        c for chunker in chunkers or (DefaultChunker(),) for c in chunker.chunk(doc)
    ]
    spans: dict[tuple[str, str], tuple[int, int]] = {}
    for c in chunks:
        if c.kind in UNIT_KINDS:
            start, end = spans.get((c.symbol, c.kind), (c.start_line, c.end_line))
            spans[(c.symbol, c.kind)] = (min(start, c.start_line), max(end, c.end_line))
    lines = text.split("\n")
    units = [
        CodeUnit(kind, symbol, start, end, "\n".join(lines[start - 1 : end]), language)
        for (symbol, kind), (start, end) in spans.items()
    ]
    return sorted(units, key=lambda u: (u.start_line, -u.end_line))


def definitions(path: str, text: str) -> list[CodeUnit]:
    """Every unit of `text`, methods included even when their class fits in one chunk."""
    return code_units(path, text, DefaultChunker(), DefaultChunker(max_chars=_MEMBER_CHARS))


def unit_at(
    path: str, text: str, line: int, chunker: DefaultChunker | None = None
) -> CodeUnit | None:
    """The innermost function/method/class whose lines hold `line` (0-based)."""
    target = line + 1
    units = code_units(path, text, chunker or DefaultChunker())
    holding = [u for u in units if u.start_line <= target <= u.end_line]
    if not holding:
        return None
    return min(holding, key=lambda u: (u.end_line - u.start_line, u.kind != "method"))
