"""DefaultChunker: every document kind gets the chunking that fits it."""

from __future__ import annotations

import pytest
from tree_sitter import Parser

from mochi.rag.chunking import DefaultChunker, GrammarCache, WindowChunker
from mochi.rag.protocols import Chunker
from mochi.rag.types import Chunk, DocKind, Document


def document(kind: DocKind, language: str, text: str, title: str = "") -> Document:
    return Document(
        key="some/key", text=text, kind=kind, language=language, content_hash="h", title=title
    )


def numbered(count: int) -> str:
    return "".join(f"line {n}\n" for n in range(1, count + 1))


def spans(chunks: list[Chunk]) -> list[tuple[int, int]]:
    return [(c.start_line, c.end_line) for c in chunks]


class NoGrammars(GrammarCache):
    """A grammar cache that never finds a grammar (as offline without grammar wheels)."""

    def parser(self, language: str) -> Parser | None:
        return None


def test_default_chunker_is_a_chunker() -> None:
    chunker: Chunker = DefaultChunker()
    assert chunker.chunk(document(DocKind.TEXT, "text", "hello\n"))[0].text == "hello"


@pytest.mark.parametrize("kind", list(DocKind))
def test_an_empty_document_has_no_chunks(kind: DocKind) -> None:
    language = {DocKind.CODE: "python", DocKind.DOC: "markdown"}.get(kind, "text")
    assert DefaultChunker().chunk(document(kind, language, "")) == []
    assert DefaultChunker().chunk(document(kind, language, " \n\n\t\n")) == []


def test_code_with_a_grammar_is_chunked_by_unit() -> None:
    text = "import os\n\n\ndef main() -> None:\n    print(os.getcwd())\n"
    chunks = DefaultChunker().chunk(document(DocKind.CODE, "python", text))
    assert [(c.kind, c.symbol) for c in chunks] == [("module", ""), ("function", "main")]


def test_code_without_a_unit_table_falls_back_to_windows() -> None:
    text = numbered(50)
    chunks = DefaultChunker().chunk(document(DocKind.CODE, "ruby", text))
    assert {c.kind for c in chunks} == {"window"}
    assert spans(chunks) == [(1, 40), (31, 50)]


def test_code_whose_grammar_cannot_be_loaded_falls_back_to_windows() -> None:
    chunker = DefaultChunker(window_lines=10, window_overlap=2, grammars=NoGrammars())
    chunks = chunker.chunk(document(DocKind.CODE, "python", "def f():\n    return 1\n"))
    assert [(c.kind, c.start_line, c.end_line) for c in chunks] == [("window", 1, 2)]


def test_markdown_is_chunked_by_section() -> None:
    text = "# Install\n\nGet it.\n\n## From source\n\nClone.\n"
    chunks = DefaultChunker().chunk(document(DocKind.DOC, "markdown", text))
    assert [(c.kind, c.symbol, c.context) for c in chunks] == [
        ("section", "Install", ""),
        ("section", "From source", "Install"),
    ]


def test_pdf_text_is_chunked_by_page() -> None:
    chunks = DefaultChunker().chunk(document(DocKind.DOC, "pdf", "One.\n\fTwo.\n"))
    assert [(c.kind, c.symbol) for c in chunks] == [("page", "page 1"), ("page", "page 2")]


def test_a_commit_is_one_chunk_cut_to_the_cap() -> None:
    diff = "".join(f" src/file_{i}.py | {i} +\n" for i in range(200))
    text = f"Fix the parser\n\nLonger explanation.\n\n{diff}"
    doc = document(DocKind.COMMIT, "git", text, title="Fix the parser")
    (chunk,) = DefaultChunker(max_chars=500).chunk(doc)
    assert chunk.kind == "commit"
    assert chunk.symbol == "Fix the parser"
    assert len(chunk.text) <= 500
    assert text.startswith(chunk.text) and chunk.text.endswith("+")  # cut at a line end
    assert (chunk.start_line, chunk.end_line) == (1, chunk.text.count("\n") + 1)


def test_a_short_commit_is_kept_whole() -> None:
    text = "Add README\n\n README.md | 3 +++\n"
    (chunk,) = DefaultChunker().chunk(document(DocKind.COMMIT, "git", text, title="Add README"))
    assert chunk.text == text.rstrip("\n")
    assert (chunk.start_line, chunk.end_line) == (1, 3)


def test_text_windows_overlap() -> None:
    text = numbered(100)
    chunks = DefaultChunker().chunk(document(DocKind.TEXT, "text", text))
    assert spans(chunks) == [(1, 40), (31, 70), (61, 100)]
    lines = text.split("\n")
    for chunk in chunks:
        assert chunk.kind == "window"
        assert chunk.text == "\n".join(lines[chunk.start_line - 1 : chunk.end_line])


def test_windows_skip_blank_edges_and_add_nothing_twice() -> None:
    text = "\n" * 5 + numbered(8) + "\n" * 30
    chunks = WindowChunker(window_lines=10, overlap=3).chunk(document(DocKind.TEXT, "text", text))
    assert spans(chunks) == [(6, 10), (8, 13)]


def test_a_window_over_the_size_cap_is_packed_into_several_chunks() -> None:
    text = "".join(f"{n:03d} " + "x" * 96 + "\n" for n in range(1, 21))
    chunker = WindowChunker(window_lines=20, overlap=5, max_chars=505)
    chunks = chunker.chunk(document(DocKind.TEXT, "text", text))
    assert spans(chunks) == [(1, 5), (6, 10), (11, 15), (16, 20)]
    assert all(len(c.text) <= 505 for c in chunks)


@pytest.mark.parametrize(
    ("max_chars", "window_lines", "window_overlap", "name"),
    [
        (0, 40, 10, "max_chars"),
        (1500, 0, 0, "window_lines"),
        (1500, 10, 10, "window_overlap"),
        (1500, 40, -1, "window_overlap"),
    ],
)
def test_bad_parameters_are_refused_with_their_name(
    max_chars: int, window_lines: int, window_overlap: int, name: str
) -> None:
    with pytest.raises(ValueError, match=name):
        DefaultChunker(max_chars, window_lines, window_overlap)
