"""Citations in an answer (mochi.server.ask.citations) and the rerank of its sources:
what counts as a citation, which are kept, how uncited claims are attributed, and that
the text keeps every sentence."""

from __future__ import annotations

import pytest

from mochi.rag.types import Hit
from mochi.server.ask import Source, cite, rerank
from mochi.server.ask.citations import split_segments
from mochi.server.ask.sources import code_identifiers, make_sources, terms

GEOMETRY = Source(
    1,
    "pkg/geometry.py",
    5,
    8,
    "import math\n\ndef circle_area(radius):\n    return math.pi * radius * radius",
    "circle_area",
)
CONFIG = Source(
    2,
    "pkg/config.py",
    10,
    13,
    "def parse_config(text):\n    pairs = {}\n    for line in text.splitlines():\n"
    "        key, value = line.split('=')",
    "parse_config",
)
SOURCES = [GEOMETRY, CONFIG]


def labels(answer: str) -> list[list[tuple[str, str]]]:
    return [[(c.label, c.how) for c in claim.citations] for claim in cite(answer, SOURCES).claims]


def test_a_path_line_inside_a_source_is_kept_as_written() -> None:
    result = cite("circle_area multiplies pi by the radius squared [pkg/geometry.py:8].", SOURCES)
    assert result.text == "circle_area multiplies pi by the radius squared [pkg/geometry.py:8]."
    (citation,) = result.citations
    assert (citation.path, citation.line, citation.end_line) == ("pkg/geometry.py", 8, 8)
    assert (citation.how, citation.source, citation.claim) == ("cited", 1, 0)
    assert result.rejected == ()


@pytest.mark.parametrize(
    ("written", "label"),
    [
        ("[pkg/config.py:11-13]", "pkg/config.py:11-13"),
        ("[`pkg/config.py:12`]", "pkg/config.py:12"),
        ("[./pkg/config.py:12]", "pkg/config.py:12"),
        ("[/home/me/repo/pkg/config.py:12]", "pkg/config.py:12"),
        ("[pkg/config.py:L12]", "pkg/config.py:12"),
        ("[pkg/config.py:12-99]", "pkg/config.py:12-13"),  # the end is clamped to the source
        ("(see pkg/config.py:12)", "pkg/config.py:12"),  # bare, of a source's file
    ],
)
def test_forms_of_path_line(written: str, label: str) -> None:
    result = cite(f"parse_config splits each line at the equals sign {written}.", SOURCES)
    assert [c.label for c in result.citations] == [label]
    assert f"[{label}]" in result.text


def test_a_source_number_points_at_its_best_matching_line() -> None:
    result = cite("Each line is split into key and value [2].", SOURCES)
    (citation,) = result.citations
    assert (citation.label, citation.how, citation.source) == ("pkg/config.py:13", "cited", 2)
    assert result.text == "Each line is split into key and value [pkg/config.py:13]."


def test_several_numbers_in_one_bracket_and_the_source_word() -> None:
    assert labels("It reads the radius and the config text [1, 2].") == [
        [("pkg/geometry.py:7", "cited"), ("pkg/config.py:10", "cited")]
    ]
    assert labels("The radius is squared [Source 1].") == [[("pkg/geometry.py:7", "cited")]]


@pytest.mark.parametrize(
    "bad",
    ["[pkg/geometry.py:40]", "[pkg/other.py:6]", "[7]", "[0]"],
)
def test_a_citation_outside_the_sources_is_taken_out_listed_and_the_claim_attributed(
    bad: str,
) -> None:
    result = cite(f"The radius of the circle is squared {bad}.", SOURCES)
    assert bad not in result.text
    assert result.rejected == (bad.strip("[]"),)
    (citation,) = result.citations
    assert (citation.how, citation.path) == ("attributed", "pkg/geometry.py")
    assert result.text == "The radius of the circle is squared [pkg/geometry.py:7 (attributed)]."


def test_an_uncited_claim_is_attributed_to_the_source_sharing_most_terms() -> None:
    result = cite("The key and the value are split at each line of the text.", SOURCES)
    (citation,) = result.citations
    assert (citation.how, citation.source, citation.line) == ("attributed", 2, 13)
    assert result.text.endswith("text [pkg/config.py:13 (attributed)].")


def test_a_claim_sharing_no_term_goes_to_the_best_ranked_source() -> None:
    (citation,) = cite("Nothing here overlaps whatsoever.", SOURCES).citations
    assert (citation.how, citation.source, citation.line) == ("attributed", 1, 5)


def test_brackets_that_are_not_citations_stay() -> None:
    answer = "Call it as parse_config(text)[0] or see [the docs](http://x) and [a, b]."
    result = cite(answer, SOURCES)
    assert result.text.startswith("Call it as parse_config(text)[0] or see [the docs](http://x)")
    assert "[a, b]" in result.text
    assert result.rejected == ()
    assert [c.how for c in result.citations] == ["attributed"]


def test_every_sentence_is_a_claim_and_nothing_is_dropped() -> None:
    answer = (
        "circle_area uses math.pi [1]. It squares the radius, e.g. radius * radius.\n"
        "\n"
        "- parse_config reads text [pkg/config.py:10]\n"
        "- Each line holds a key and a value. [2]\n"
        "## Summary\n"
        "Yes."
    )
    result = cite(answer, SOURCES)
    assert [[c.how for c in claim.citations] for claim in result.claims] == [
        ["cited"],
        ["attributed"],  # "e.g." does not end the sentence
        ["cited"],
        ["cited"],  # a bracket that opens the next piece belongs to the sentence before
    ]
    for kept in ("It squares the radius, e.g. radius * radius", "## Summary", "Yes."):
        assert kept in result.text
    assert result.text.count("\n") == answer.count("\n")  # the layout stays
    assert "value [pkg/config.py:13]." in result.text or "value. [pkg/config.py:13]" in result.text


def test_a_line_of_only_citations_belongs_to_the_line_before() -> None:
    result = cite("The radius is squared.\n[1]\nThe config is parsed.", SOURCES)
    assert [c.how for c in result.claims[0].citations] == ["cited"]
    assert result.text.splitlines()[0] == "The radius is squared. [pkg/geometry.py:7]"
    assert result.text.splitlines()[1] == "The config is parsed [pkg/config.py:10 (attributed)]."


def test_a_code_block_is_one_claim_attributed_after_its_fence() -> None:
    answer = "Like this:\n```python\ndef circle_area(radius):\n    return math.pi\n```\nDone now."
    result = cite(answer, SOURCES)
    code = [claim for claim in result.claims if claim.text.startswith("```")]
    assert len(code) == 1
    assert code[0].text.endswith("```\n[pkg/geometry.py:7 (attributed)]")
    assert "[1]" not in code[0].text


def test_segments_join_back_to_the_answer() -> None:
    answer = "One. Two! Three?  Four\n\n```\nx = 1. y\n```\nv1.2. Five e.g. six."
    assert "".join(s.text + s.sep for s in split_segments(answer)) == answer


def test_terms_split_identifiers_and_drop_stop_words() -> None:
    assert terms("How does parse_config read the HttpClient?") == {
        "parse_config",
        "parse",
        "config",
        "read",
        "httpclient",
        "http",
        "client",
    }
    assert code_identifiers("what does `area` do in geometry.circle_area or parseConfig?") == {
        "area",
        "geometry.circle_area",
        "parseConfig",
    }


def hit(path: str, start: int, text: str, score: float, source: str = "code") -> Hit:
    end = start + text.count("\n")
    return Hit(path, start, end, score, text, "function", "python", source=source)


def test_rerank_lifts_the_hit_that_names_the_identifier_and_drops_overlaps() -> None:
    hits = [
        hit("docs/guide.md", 1, "# Guide\nShapes and more shapes.", 0.9),
        hit("pkg/geometry.py", 5, "def circle_area(radius):\n    return math.pi", 0.8),
        hit("pkg/geometry.py", 6, "    return math.pi", 0.7),  # inside the one above
        hit("git:abc", 1, "Fix circle_area", 0.95, source="commit"),
        hit("pkg/shapes.py", 1, "class Square:\n    pass", 0.6),
    ]
    ranked = rerank("what does circle_area return?", hits, 3)
    assert [h.path for h, _ in ranked] == ["pkg/geometry.py", "docs/guide.md", "pkg/shapes.py"]
    assert ranked[0][1] > ranked[1][1] > ranked[2][1]
    # deterministic: the same input, the same order and scores
    assert rerank("what does circle_area return?", hits, 3) == ranked


def test_rerank_keeps_the_retrievers_order_when_nothing_else_differs() -> None:
    hits = [hit(f"pkg/m{i}.py", 1, "x = 1", 0.5) for i in range(4)]
    assert [h.path for h, _ in rerank("unrelated words", hits, 4)] == [h.path for h in hits]


def test_sources_are_numbered_and_trimmed_to_whole_lines() -> None:
    long = hit("pkg/long.py", 20, "\n".join(f"line_{i} = {i}" for i in range(50)), 0.5)
    (source,) = make_sources([(long, 0.5)], max_chars=60)
    assert (source.number, source.start_line, source.end_line) == (1, 20, 24)
    assert source.text.splitlines()[-1] == "line_4 = 4"
    merged = Hit("pkg/m.py", 1, 30, 0.5, "def f():\n    a\n...\n    z", "function", "python")
    (source,) = make_sources([(merged, 0.5)], max_chars=1000)
    assert (source.end_line, source.text) == (2, "def f():\n    a")  # cut before the gap
