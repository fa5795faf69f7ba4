"""Search ranking rules of issue 15: implementation first for questions in words, one hit
per unit, filters for tests and globs. Pure rules first, then the real index and the
real embedding model on a small repository where a function, its test and a release
note all match one question."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from git_repo import GitRepo

from mochi.rag.config import ConfigError, RagConfig, RetrievalConfig
from mochi.rag.embedding import Bm25SparseEncoder
from mochi.rag.index import WorkspaceIndex, open_workspace_index
from mochi.rag.protocols import Embedder
from mochi.rag.retrieval import HybridRetriever
from mochi.rag.retrieval.ranking_priors import (
    RankingPriors,
    asks_for_changes,
    asks_for_tests,
    is_question_in_words,
    is_release_notes,
    is_test_path,
)
from mochi.rag.retrieval.unit_merge import ELISION, merge_into, same_unit
from mochi.rag.types import Hit, SearchFilters

# --- the rules on their own ---------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("tests/test_client.py", True),
        ("pkg/tests/helpers.py", True),
        ("test_client.py", True),
        ("conftest.py", True),
        ("server/client_test.go", True),
        ("web/src/format.spec.ts", True),
        ("src/main/java/FooTest.java", True),
        ("pkg/client.py", False),
        ("pkg/testing_tools.py", False),  # a module about testing is code
        ("pkg/attest.py", False),
    ],
)
def test_test_paths(path: str, expected: bool) -> None:
    assert is_test_path(path) is expected


@pytest.mark.parametrize(
    ("path", "headings", "expected"),
    [
        ("CHANGELOG.md", [], True),
        ("docs/changelog.rst", [], True),
        ("HISTORY.md", [], True),
        ("NEWS", [], True),
        ("changelog.d/123.bugfix.md", [], True),
        ("README.md", ["0.27.0 (21st February, 2024)"], True),
        ("README.md", ["Fixed", "[1.0.0] - 2024-01-01"], True),  # under a release heading
        ("README.md", ["Release notes"], True),
        ("README.md", ["1.2 Installation"], False),  # a numbered section is no release
        ("README.md", ["Usage"], False),
        ("git:0123abc", [], False),
    ],
)
def test_release_notes(path: str, headings: list[str], expected: bool) -> None:
    assert is_release_notes(path, headings) is expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("where are redirects followed", True),
        ("how are proxies picked up from HTTP_PROXY and NO_PROXY", True),
        ("how does fetch_json decode the body?", True),
        ("fetch_json", False),
        ("user name", False),  # too short to tell
        ("client.send(request)", False),
        ("if user is not None and user.active", False),  # a line of code
        ("from net import deadline\nreturn deadline.check()", False),
    ],
)
def test_questions_in_words(query: str, expected: bool) -> None:
    assert is_question_in_words(query) is expected


def test_what_a_question_asks_for() -> None:
    assert asks_for_tests("which tests check digest authentication")
    assert not asks_for_tests("how does digest authentication work")
    assert asks_for_changes("what changed in version 0.27.0")
    assert asks_for_changes("when was this deprecated")
    assert asks_for_changes("fixes in 2.32")
    assert not asks_for_changes("where are redirects followed")


def test_priors_leave_identifier_queries_alone() -> None:
    words = RankingPriors.for_query(
        "how is the timeout enforced", code_like=False, test_penalty=0.3, changelog_penalty=0.5
    )
    assert words.factor({"path": "tests/test_x.py", "source": "code"}) == pytest.approx(0.7)
    assert words.factor({"path": "CHANGELOG.md", "source": "doc"}) == pytest.approx(0.5)
    notes_in_readme = {"path": "README.md", "source": "doc", "symbol": "Fixed"}
    assert words.factor({**notes_in_readme, "context": "Changelog > 2.0.0 (2024-01-01)"}) == 0.5
    assert words.factor({"path": "pkg/x.py", "source": "code"}) == 1.0
    assert words.factor({"path": "pkg/history.py", "source": "code"}) == 1.0  # code, not notes
    context = RankingPriors.for_query(  # the completion context's query: lines of code
        "deadline\nfor item in items", code_like=False, test_penalty=0.3, changelog_penalty=0.5
    )
    assert context.is_neutral
    code = RankingPriors.for_query(
        "enforce_timeout", code_like=True, test_penalty=0.3, changelog_penalty=0.5
    )
    assert code.is_neutral
    naming = RankingPriors.for_query(
        "which responses make raise_for_status raise an error",
        code_like=True,  # by the fusion's reading: it holds an identifier
        test_penalty=0.3,
        changelog_penalty=0.5,
    )
    assert naming.factor({"path": "tests/test_x.py", "source": "code"}) == pytest.approx(0.7)
    asking = RankingPriors.for_query(
        "which tests cover timeouts", code_like=False, test_penalty=0.3, changelog_penalty=0.5
    )
    assert asking.factor({"path": "tests/test_x.py", "source": "code"}) == 1.0


def _hit(start: int, end: int, text: str = "", **kw: str) -> Hit:
    fields = {"path": "pkg/a.py", "kind": "function", "symbol": "f", "source": "code", **kw}
    return Hit(
        path=fields["path"],
        start_line=start,
        end_line=end,
        score=0.5,
        text=text or "\n".join(f"line {n}" for n in range(start, end + 1)),
        kind=fields["kind"],
        language="python",
        symbol=fields["symbol"],
        source=fields["source"],
    )


def test_which_pieces_are_one_unit() -> None:
    assert same_unit(_hit(1, 10), _hit(11, 20))  # consecutive pieces of f
    assert same_unit(_hit(1, 10), _hit(31, 40))  # f's first and third piece
    assert not same_unit(_hit(1, 10), _hit(11, 20, symbol="g"))
    assert not same_unit(_hit(1, 10), _hit(11, 20, path="pkg/b.py"))
    assert same_unit(_hit(1, 10, symbol="g"), _hit(5, 12, symbol="h"))  # overlapping lines
    # A class's own lines between its methods, and sections that share a heading, merge
    # only when they touch.
    assert same_unit(_hit(1, 10, kind="class"), _hit(11, 14, kind="class"))
    assert not same_unit(_hit(1, 10, kind="class"), _hit(40, 44, kind="class"))
    fixed = {"path": "CHANGELOG.md", "kind": "section", "symbol": "Fixed", "source": "doc"}
    assert not same_unit(_hit(9, 12, **fixed), _hit(120, 130, **fixed))
    assert same_unit(_hit(9, 12, **fixed), _hit(13, 20, **fixed))


def test_merged_hit_spans_its_pieces() -> None:
    best = dataclasses.replace(_hit(11, 12), score=0.9)
    merged = merge_into(best, _hit(1, 10))
    assert (merged.start_line, merged.end_line, merged.score) == (1, 12, 0.9)
    assert merged.text.split("\n") == [f"line {n}" for n in range(1, 13)]
    overlapping = merge_into(_hit(1, 6), _hit(4, 9))
    assert overlapping.text.split("\n") == [f"line {n}" for n in range(1, 10)]
    apart = merge_into(_hit(1, 2), _hit(8, 9))
    assert apart.text.split("\n") == ["line 1", "line 2", ELISION, "line 8", "line 9"]


def test_penalties_are_validated() -> None:
    with pytest.raises(ConfigError, match=r"retrieval\.test_penalty"):
        RetrievalConfig(test_penalty=1.5)
    with pytest.raises(ConfigError, match=r"retrieval\.changelog_penalty"):
        RetrievalConfig(changelog_penalty=-0.1)


# --- through the real index -----------------------------------------------------------

FILES = {
    "net/deadline.py": '''import socket


def enforce_request_timeout(sock: socket.socket, seconds: float) -> bytes:
    """Read one response within `seconds`; a slower peer raises TimeoutError."""
    sock.settimeout(seconds)
    try:
        return sock.recv(65536)
    except socket.timeout as exc:
        raise TimeoutError(f"no response within {seconds} s") from exc
''',
    "tests/test_deadline.py": '''from net.deadline import enforce_request_timeout


def test_request_timeout_is_enforced(slow_server):
    """The request timeout is enforced: a request to a slow server times out."""
    with pytest.raises(TimeoutError):
        enforce_request_timeout(slow_server, seconds=0.01)
''',
    "CHANGELOG.md": """# Changelog

## 1.4.0 (2024-03-01)

- The request timeout is now enforced for every request (#812).

## 1.3.0 (2024-01-10)

- Requests to slow servers time out after the request timeout.
""",
    "net/retry.py": '''def backoff_schedule(retries: int, base: float = 0.5) -> list[float]:
    """Seconds to wait before each retry of a failed connection: exponential backoff.

    The first retry waits `base` seconds and every further one twice as long, so a
    server that is briefly down gets time to come back before the client gives up.
    """
    delays: list[float] = []
    delay = base
    for attempt in range(retries):
        # Each attempt waits twice as long as the one before it.
        delays.append(delay)
        delay = delay * 2
    # The schedule never waits longer than a minute between two attempts.
    capped = [min(d, 60.0) for d in delays]
    # Small jitter would spread the retries of many clients; kept out for clarity.
    return capped
''',
}


@pytest.fixture
def index(git_repo: GitRepo, tmp_path: Path, minilm: Embedder) -> Iterator[WorkspaceIndex]:
    for path, text in FILES.items():
        git_repo.write(path, text)
    git_repo.commit("Add the deadline helpers")
    config = RagConfig(data_dir=str(tmp_path / "data"))
    config.index.chunk_max_chars = 260  # backoff_schedule is cut into pieces
    with open_workspace_index(git_repo.root, config, embedder=minilm) as idx:
        idx.sync()
        yield idx


@pytest.fixture
def rules_off(index: WorkspaceIndex) -> HybridRetriever:
    """The same index ranked as before these rules (the other settings as shipped)."""
    shipped = RetrievalConfig()
    return HybridRetriever(
        store=index.store,
        embedder=index.embedder,
        sparse=Bm25SparseEncoder(),
        dense_weight=shipped.dense_weight,
        code_dense_weight=shipped.code_dense_weight,
        hub_penalty=shipped.hub_penalty,
        test_penalty=0.0,
        changelog_penalty=0.0,
        merge_units=False,
    )


QUESTION = "how is the request timeout enforced"


def test_a_question_in_words_gets_the_implementation_first(
    index: WorkspaceIndex, rules_off: HybridRetriever
) -> None:
    before = [h.path for h in rules_off.search(QUESTION, k=3)]
    assert before[0] != "net/deadline.py", before  # the test or the release note won
    hits = index.search(QUESTION, k=3)
    assert hits[0].path == "net/deadline.py", [h.path for h in hits]
    assert hits[0].symbol == "enforce_request_timeout"
    assert {"tests/test_deadline.py", "CHANGELOG.md"} & {h.path for h in hits}  # still there


def test_asking_for_tests_or_changes_lifts_their_penalty(
    index: WorkspaceIndex, rules_off: HybridRetriever
) -> None:
    tests = index.search("which tests check that the request timeout is enforced", k=3)
    assert tests[0].path == "tests/test_deadline.py", [h.path for h in tests]
    question = "what changed about the request timeout in 1.4.0"
    notes = [h for h in index.search(question, k=5) if h.path == "CHANGELOG.md"]
    before = [h for h in rules_off.search(question, k=5) if h.path == "CHANGELOG.md"]
    assert notes and notes[0].score == before[0].score  # not demoted


def test_an_identifier_query_is_unaffected(
    index: WorkspaceIndex, rules_off: HybridRetriever
) -> None:
    query = "test_request_timeout_is_enforced"
    hits = index.search(query, k=3)
    assert hits[0].path == "tests/test_deadline.py"
    assert hits[0].score == rules_off.search(query, k=3)[0].score  # no factor applied


def test_pieces_of_one_function_make_one_hit(
    index: WorkspaceIndex, rules_off: HybridRetriever
) -> None:
    question = "exponential backoff between retries of a failed connection"
    pieces = [h for h in rules_off.search(question, k=10) if h.symbol == "backoff_schedule"]
    assert len(pieces) >= 2, pieces  # the function is cut into pieces...
    hits = index.search(question, k=10)
    merged = [h for h in hits if h.symbol == "backoff_schedule"]
    assert len(merged) == 1  # ...and shown once
    assert merged[0].start_line == 1 and "def backoff_schedule" in merged[0].text
    assert merged[0].end_line == max(p.end_line for p in pieces)


def test_filters_leave_out_tests_and_globs(index: WorkspaceIndex) -> None:
    no_tests = index.search(QUESTION, k=10, filters=SearchFilters(exclude_tests=True))
    assert no_tests and not any(h.path.startswith("tests/") for h in no_tests)
    no_notes = index.search(QUESTION, k=10, filters=SearchFilters(exclude_globs=("*.md",)))
    assert no_notes and not any(h.path.endswith(".md") for h in no_notes)
    code_only = index.search(
        QUESTION, k=10, filters=SearchFilters(sources=("code",), exclude_tests=True)
    )
    assert {h.path for h in code_only} <= {"net/deadline.py", "net/retry.py"}
