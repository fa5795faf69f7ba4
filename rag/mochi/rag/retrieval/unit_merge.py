"""One hit per unit: pieces of one function, class or doc section merge.

The chunker cuts a unit over the size cap into consecutive pieces that keep its kind
and symbol. Shown as separate hits they take several of the top slots for one answer.
A piece of a unit already shown joins that hit instead: its line range becomes the
union, its text the pieces in line order (a line ``...`` marks the lines between
pieces that do not touch), its score the best piece's.

Every line between two pieces of a function belongs to that function, so its pieces
merge wherever they lie. A class's own lines (header, docstring, attributes) come in
pieces between its methods, which are units of their own: those pieces, like those
of a doc section (headings repeat in a file, e.g. "Fixed" under every release), merge
only when they touch.
"""

from __future__ import annotations

from dataclasses import replace

from mochi.rag.types import DocKind, Hit

ELISION = "..."
_WHOLE_UNIT_KINDS = frozenset({"function", "method"})


def _overlap(a: Hit, b: Hit) -> bool:
    return a.start_line <= b.end_line and b.start_line <= a.end_line


def _touch(a: Hit, b: Hit, gap: int = 1) -> bool:
    """Overlapping or at most `gap` lines apart."""
    return a.start_line <= b.end_line + gap + 1 and b.start_line <= a.end_line + gap + 1


def same_unit(a: Hit, b: Hit) -> bool:
    """Two hits of one unit: overlapping lines of one file; pieces of one function or
    method (one symbol of one file; a property's getter and setter count as one); or
    touching pieces of one class's own lines or of one doc section."""
    if a.path != b.path:
        return False
    if _overlap(a, b):
        return True
    if not a.symbol or (a.symbol, a.kind) != (b.symbol, b.kind):
        return False
    whole = a.source == DocKind.CODE.value and a.kind in _WHOLE_UNIT_KINDS
    return whole or _touch(a, b)


def merge_into(kept: Hit, piece: Hit) -> Hit:
    """`kept` (the better hit) extended by another piece of its unit."""
    first, second = sorted((kept, piece), key=lambda h: (h.start_line, h.end_line))
    if second.start_line <= first.end_line:  # overlapping: keep the lines once
        skip = first.end_line - second.start_line + 1
        tail = "\n".join(second.text.split("\n")[skip:])
        text = first.text + ("\n" + tail if tail else "")
        end = max(first.end_line, second.end_line)
    else:
        joint = "\n" if second.start_line <= first.end_line + 2 else f"\n{ELISION}\n"
        text = first.text.rstrip("\n") + joint + second.text
        end = second.end_line
    return replace(
        kept,
        start_line=first.start_line,
        end_line=end,
        text=text,
        score=max(kept.score, piece.score),
    )


def merge_units(hits: list[Hit], piece: Hit) -> bool:
    """Fold `piece` into the hit of its unit among `hits` (in place); False when none."""
    for i, kept in enumerate(hits):
        if same_unit(kept, piece):
            hits[i] = merge_into(kept, piece)
            return True
    return False
