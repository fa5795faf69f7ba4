"""Documentation is chunked by section, with the path of parent headings as context."""

from __future__ import annotations

from mochi.rag.chunking import PageChunker, SectionChunker
from mochi.rag.types import Chunk, DocKind, Document

MARKDOWN = """Intro before any heading.

# Install

Get it.

## From source

Clone the repository.

### Linux ###

Use make.

## From PyPI

pip install it.

```sh
# not a heading: inside a fence
```

Usage
=====

Run it.

Options
-------

All of them.
"""

RST = """=======
Project
=======

About it.

Install
-------

Get it.

From source
~~~~~~~~~~~

Clone it.

Usage
-----

Run it.

----

After a transition.
"""

ASCIIDOC = """= Project Guide
:toc:

Preamble text.

== Install

Get it.

----
== not a heading: inside a listing block
----

=== From source

Clone it.

== Usage

Run it.
"""


def doc(language: str, text: str, title: str = "") -> Document:
    return Document(
        key=f"docs/guide.{language}",
        text=text,
        kind=DocKind.DOC,
        language=language,
        content_hash="h",
        title=title,
    )


def outline(chunks: list[Chunk]) -> list[tuple[str, str, int, int]]:
    return [(c.symbol, c.context, c.start_line, c.end_line) for c in chunks]


def lines_of(text: str, chunk: Chunk) -> str:
    return "\n".join(text.split("\n")[chunk.start_line - 1 : chunk.end_line])


def test_markdown_atx_and_setext_headings_with_parent_paths() -> None:
    chunks = SectionChunker().chunk(doc("markdown", MARKDOWN))
    assert outline(chunks) == [
        ("", "", 1, 1),
        ("Install", "", 3, 5),
        ("From source", "Install", 7, 9),
        ("Linux", "Install > From source", 11, 13),
        ("From PyPI", "Install", 15, 21),
        ("Usage", "", 23, 26),
        ("Options", "Usage", 28, 31),
    ]
    assert {c.kind for c in chunks} == {"section"}
    for chunk in chunks:
        assert chunk.text == lines_of(MARKDOWN, chunk)


def test_markdown_front_matter_is_not_a_setext_heading() -> None:
    text = "---\ntitle: Guide\n---\n\n# Start\n\nGo.\n"
    assert outline(SectionChunker().chunk(doc("markdown", text))) == [
        ("", "", 1, 3),
        ("Start", "", 5, 7),
    ]


def test_rst_titles_take_levels_from_the_order_of_their_adornments() -> None:
    chunks = SectionChunker().chunk(doc("rst", RST))
    assert outline(chunks) == [
        ("Project", "", 1, 5),
        ("Install", "Project", 7, 10),
        ("From source", "Project > Install", 12, 15),
        ("Usage", "Project", 17, 24),
    ]


def test_asciidoc_equals_headings_outside_delimited_blocks() -> None:
    chunks = SectionChunker().chunk(doc("asciidoc", ASCIIDOC))
    assert outline(chunks) == [
        ("Project Guide", "", 1, 4),
        ("Install", "Project Guide", 6, 12),
        ("From source", "Project Guide > Install", 14, 16),
        ("Usage", "Project Guide", 18, 20),
    ]


def test_oversize_section_is_split_by_paragraphs_then_lines() -> None:
    paragraphs = "\n\n".join(
        "\n".join(f"Paragraph {p} line {i} with some words." for i in range(4)) for p in range(12)
    )
    huge_line = "x" * 500
    text = f"# Guide\n\n## Big\n\n{paragraphs}\n\n{huge_line}\n\n## After\n\nEnd.\n"
    chunks = SectionChunker(max_chars=300).chunk(doc("markdown", text))
    big = [c for c in chunks if c.symbol == "Big"]
    assert len(big) > 4
    assert all(len(c.text) <= 300 for c in chunks)
    assert big[0].context == "Guide" and big[0].text.startswith("## Big")
    assert all(c.context == "Guide > Big" for c in big[1:])
    # paragraphs are never cut in the middle: each piece starts a paragraph
    lines = text.split("\n")
    for piece in big[1:]:
        assert not lines[piece.start_line - 2].strip()
    # every non-blank line is in a piece, the long line in several
    covered = {n for c in big for n in range(c.start_line, c.end_line + 1)}
    after = next(c for c in chunks if c.symbol == "After")
    assert all(not lines[n - 1].strip() or n in covered for n in range(3, after.start_line))
    assert "".join(c.text for c in big if c.text.startswith("x")) == huge_line


def test_pdf_pages_split_on_form_feeds() -> None:
    text = "Page one.\n\nStill one.\n\fPage two.\n\f\fPage four.\n"
    chunks = PageChunker().chunk(doc("pdf", text, title="Manual"))
    assert [(c.kind, c.symbol, c.start_line, c.end_line, c.text) for c in chunks] == [
        ("page", "page 1", 1, 3, "Page one.\n\nStill one."),
        ("page", "page 2", 4, 4, "Page two."),
        ("page", "page 4", 5, 5, "Page four."),
    ]
    assert {c.context for c in chunks} == {"Manual"}


def test_pdf_text_without_page_breaks_is_grouped_by_paragraphs() -> None:
    text = "\n\n".join(f"Paragraph {i} " + "word " * 30 for i in range(6)) + "\n"
    chunks = PageChunker(max_chars=400).chunk(doc("pdf", text))
    assert len(chunks) == 3
    assert all(c.kind == "section" and len(c.text) <= 400 for c in chunks)
    assert [c.start_line for c in chunks] == [1, 5, 9]
    assert chunks[-1].end_line == 11
