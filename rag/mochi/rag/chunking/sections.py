"""Documentation chunked by section: Markdown, reStructuredText and AsciiDoc."""

from __future__ import annotations

from mochi.rag.chunking.headings import Heading, find_headings
from mochi.rag.chunking.lines import LineIndex
from mochi.rag.types import Chunk, Document

_PATH_SEPARATOR = " > "


class SectionChunker:
    """One "section" chunk per heading, from the heading to the next one.

    `symbol` is the heading text and `context` the path of the parent headings
    ("Install > From source"). Text before the first heading is a section with
    symbol "". A section over `max_chars` is split by paragraphs, then lines; the
    pieces after the first carry the section's own title at the end of the path.
    """

    def __init__(self, max_chars: int = 1500) -> None:
        if max_chars <= 0:
            raise ValueError(f"max_chars must be positive, got {max_chars}")
        self.max_chars = max_chars

    def chunk(self, doc: Document) -> list[Chunk]:
        lines = LineIndex(doc.text)
        headings = find_headings(doc.language, lines)
        chunks: list[Chunk] = []
        if not headings or headings[0].line > 1:
            end = headings[0].line - 1 if headings else lines.count
            chunks.extend(self._section(doc, lines, 1, end, "", []))
        path: list[Heading] = []
        for i, heading in enumerate(headings):
            while path and path[-1].level >= heading.level:
                path.pop()
            end = headings[i + 1].line - 1 if i + 1 < len(headings) else lines.count
            parents = [h.title for h in path]
            chunks.extend(self._section(doc, lines, heading.line, end, heading.title, parents))
            path.append(heading)
        return chunks

    def _section(
        self,
        doc: Document,
        lines: LineIndex,
        first: int,
        last: int,
        title: str,
        parents: list[str],
    ) -> list[Chunk]:
        bounds = lines.trim(first, last)
        if bounds is None:
            return []
        if lines.size(*bounds) <= self.max_chars:
            pieces = [(bounds[0], bounds[1], lines.span(*bounds))]
        else:
            pieces = [(p.first, p.last, p.text) for p in lines.paragraphs(*bounds, self.max_chars)]
        own_path = [*parents, title] if title else parents
        return [
            Chunk(
                doc_key=doc.key,
                text=text,
                kind="section",
                language=doc.language,
                start_line=start,
                end_line=end,
                symbol=title,
                context=_PATH_SEPARATOR.join(parents if i == 0 else own_path),
            )
            for i, (start, end, text) in enumerate(pieces)
        ]
