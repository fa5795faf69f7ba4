"""A text seen as numbered lines, and the packing of line ranges under a size cap."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Piece:
    """Lines `first`..`last` (1-based, inclusive) and the text a chunk gets for them."""

    first: int
    last: int
    text: str


class LineIndex:
    """1-based access to the lines of a text split on ``\\n`` (what tree-sitter counts)."""

    __slots__ = ("_blank", "_starts", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        starts = [0]
        blank: list[bool] = []
        offset = 0
        for line in text.split("\n"):
            offset += len(line) + 1
            starts.append(offset)
            blank.append(not line.strip())
        self._starts = starts  # starts[n] is where line n + 1 begins; one past the end last
        self._blank = blank

    @property
    def count(self) -> int:
        """Number of lines; a final newline ends the last line rather than adding one."""
        n = len(self._blank)
        return n - 1 if n > 1 and self.text.endswith("\n") else n

    def line(self, n: int) -> str:
        return self.text[self._starts[n - 1] : self._starts[n] - 1]

    def span(self, first: int, last: int) -> str:
        """The text of lines `first`..`last`, without the newline after the last one."""
        return self.text[self._starts[first - 1] : self._starts[last] - 1]

    def size(self, first: int, last: int) -> int:
        return self._starts[last] - 1 - self._starts[first - 1]

    def is_blank(self, n: int) -> bool:
        return self._blank[n - 1]

    def trim(self, first: int, last: int) -> tuple[int, int] | None:
        """The range without its leading and trailing blank lines; None when all blank."""
        while first <= last and self._blank[first - 1]:
            first += 1
        while last >= first and self._blank[last - 1]:
            last -= 1
        return (first, last) if first <= last else None

    def pack(self, first: int, last: int, max_chars: int) -> list[Piece]:
        """Consecutive pieces of at most `max_chars` covering every non-blank line.

        Blank lines at a piece's edges are left out; a single line longer than the
        cap is cut into several pieces that all carry that line's number.
        """
        pieces: list[Piece] = []
        bounds = self.trim(first, last)
        while bounds is not None:
            start, end = bounds
            stop = start
            while stop < end and self.size(start, stop + 1) <= max_chars:
                stop += 1
            if self.size(start, stop) > max_chars:  # one line over the cap
                text = self.line(start)
                pieces.extend(
                    Piece(start, start, text[i : i + max_chars])
                    for i in range(0, len(text), max_chars)
                )
            else:
                trimmed = self.trim(start, stop)
                if trimmed is not None:
                    pieces.append(Piece(trimmed[0], trimmed[1], self.span(*trimmed)))
            bounds = self.trim(stop + 1, end)
        return pieces

    def paragraphs(self, first: int, last: int, max_chars: int) -> list[Piece]:
        """Blank-line separated paragraphs grouped greedily up to `max_chars`.

        A paragraph over the cap is packed line by line.
        """
        paras: list[tuple[int, int]] = []
        n = first
        while n <= last:
            if self._blank[n - 1]:
                n += 1
                continue
            start = n
            while n <= last and not self._blank[n - 1]:
                n += 1
            paras.append((start, n - 1))
        pieces: list[Piece] = []
        group: tuple[int, int] | None = None
        for para in paras:
            if group is not None and self.size(group[0], para[1]) <= max_chars:
                group = (group[0], para[1])
                continue
            if group is not None:
                pieces.append(Piece(group[0], group[1], self.span(*group)))
                group = None
            if self.size(*para) <= max_chars:
                group = para
            else:
                pieces.extend(self.pack(para[0], para[1], max_chars))
        if group is not None:
            pieces.append(Piece(group[0], group[1], self.span(*group)))
        return pieces
