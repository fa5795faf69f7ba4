"""A git commit as one chunk."""

from __future__ import annotations

from mochi.rag.types import Chunk, Document


def commit_chunk(doc: Document, max_chars: int) -> Chunk:
    """The commit's text (message, paths, diff summary) cut to `max_chars`.

    The cut falls on a line end when one lies in the second half of the cap.
    `symbol` is the subject (the document title, else the first line).
    """
    text = doc.text.rstrip()
    if len(text) > max_chars:
        cut = text.rfind("\n", 0, max_chars + 1)
        text = text[:cut] if cut >= max_chars // 2 else text[:max_chars]
    subject = doc.title or text.split("\n", 1)[0].strip()
    return Chunk(
        doc_key=doc.key,
        text=text,
        kind="commit",
        language=doc.language,
        start_line=1,
        end_line=text.count("\n") + 1,
        symbol=subject,
    )
