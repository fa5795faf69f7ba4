"""Implementation first for questions in words.

A question about behaviour ("how is the request timeout enforced") matches a
package's tests and its release notes as well as its code: they use the same words,
often more of them. Unless the question asks for tests or for changes, a test
chunk's score is multiplied by ``1 - test_penalty`` and a release-notes chunk's by
``1 - changelog_penalty``. Identifier-like queries and code (``fetch_json``,
``a.b(c)``, and the lines around the cursor that completions search with, which span
several lines) are left alone: there the user names what they want, and that may well
be a test. A question in words that names an identifier ("which responses make
raise_for_status raise") is a question.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_TEST_DIRS = frozenset({"test", "tests", "testing", "__tests__", "spec"})
_TEST_FILE = re.compile(
    r"^(test_.*|.*_test\.\w+|.*\.(test|spec)\.\w+|.*Tests?\.(java|kt|cs|scala)|conftest\.py)$"
)
_NOTES_NAMES = frozenset(
    {"changelog", "changes", "history", "news", "releases", "release-notes", "release_notes"}
    | {"releasenotes", "whatsnew", "whats-new", "whats_new"}
)
_NOTES_DIRS = frozenset({"changelog.d", "changes.d", "newsfragments", "releasenotes"})
# "0.27.0 (21st February, 2024)", "[1.0.0] - 2024-01-01", "v2.1", "Version 3.0",
# "Unreleased", "Changelog"; not a numbered section such as "1.2 Installation".
_NOTES_HEADING = re.compile(
    r"^\s*((version\s+)?\[?v?\d+\.\d+(\.\d+)*[\w.+-]*\]?\s*($|[(:\u2013\u2014-]|\d{4}))"
    r"|^\s*(unreleased|change ?log|changes|release notes|release history|what'?s new)\s*$",
    re.IGNORECASE,
)
_ASKS_FOR_TESTS = re.compile(
    r"\b(tests?|testing|tested|pytest|unittest|fixtures?|conftest)\b", re.IGNORECASE
)
_ASKS_FOR_CHANGES = re.compile(
    r"\b(chang(e|ed|es|elog)|releases?|released|history|versions?|deprecat\w*|removed"
    r"|breaking|upgrad\w*|migrat\w*|what'?s new)\b|\bv?\d+\.\d+(\.\d+)*\b",
    re.IGNORECASE,
)


def path_parts(path: str) -> list[str]:
    """A POSIX path's parts as `PurePosixPath(path).parts` has them, less a leading "/"
    (a plain split: this runs for every candidate of every query)."""
    return [part for part in path.split("/") if part and part != "."]


def is_test_path(path: str) -> bool:
    """A file under a tests folder, or named like a test (test_x.py, x_test.go,
    x.spec.ts, FooTest.java, conftest.py)."""
    parts = path_parts(path)
    if not parts:
        return False
    return any(p.lower() in _TEST_DIRS for p in parts[:-1]) or bool(_TEST_FILE.match(parts[-1]))


def is_release_notes(path: str, headings: Sequence[str] = ()) -> bool:
    """A changelog file (CHANGELOG.md, HISTORY.rst, NEWS, changelog.d/...), or a doc
    section under a heading that is a version ("0.27.0 (21st February, 2024)") or
    "Changelog"; `headings` are the section's own and its parents'. By name only: the
    caller leaves code files out."""
    parts = path_parts(path)
    if not parts or path.startswith("git:"):
        return False
    stem = parts[-1].lower().split(".", 1)[0]
    if stem in _NOTES_NAMES or any(p.lower() in _NOTES_DIRS for p in parts[:-1]):
        return True
    return any(_NOTES_HEADING.match(h) for h in headings if h)


_PLAIN_WORD = re.compile(r"[A-Za-z][a-z]*[?!,.]?")
_CODE_MARKS = re.compile(r"[(){}\[\];=<>`]|::|->|\w\.\w")


def is_question_in_words(query: str) -> bool:
    """One line of mostly plain words (at least three, two thirds of them), with no
    calls, attribute access or operators; identifiers among them are fine."""
    stripped = query.strip()
    if "\n" in stripped or _CODE_MARKS.search(stripped):
        return False
    tokens = stripped.split()
    plain = sum(1 for t in tokens if _PLAIN_WORD.fullmatch(t))
    return plain >= 3 and 3 * plain >= 2 * len(tokens)


def asks_for_tests(query: str) -> bool:
    return bool(_ASKS_FOR_TESTS.search(query))


def asks_for_changes(query: str) -> bool:
    """Changes, releases, versions, deprecations, or a version number."""
    return bool(_ASKS_FOR_CHANGES.search(query))


@dataclass(frozen=True, slots=True)
class RankingPriors:
    """The score factors of one query; `factor` is 1.0 for what is not demoted."""

    test_factor: float = 1.0
    notes_factor: float = 1.0

    @classmethod
    def for_query(
        cls, query: str, *, code_like: bool, test_penalty: float, changelog_penalty: float
    ) -> RankingPriors:
        if "\n" in query.strip() or (code_like and not is_question_in_words(query)):
            return cls()
        return cls(
            test_factor=1.0 if asks_for_tests(query) else 1.0 - test_penalty,
            notes_factor=1.0 if asks_for_changes(query) else 1.0 - changelog_penalty,
        )

    @property
    def is_neutral(self) -> bool:
        return self.test_factor == 1.0 and self.notes_factor == 1.0

    def factor(self, payload: dict[str, object]) -> float:
        path = str(payload.get("path", ""))
        if self.test_factor != 1.0 and is_test_path(path):
            return self.test_factor
        if payload.get("source") == "code":  # history.py is code, whatever its name
            return 1.0
        if self.notes_factor != 1.0 and is_release_notes(path, _headings(payload)):
            return self.notes_factor
        return 1.0


def _headings(payload: dict[str, object]) -> list[str]:
    """A doc section's heading and its parents' (its `context` is "A > B")."""
    if payload.get("source") != "doc":
        return []
    parents = str(payload.get("context", ""))
    return [str(payload.get("symbol", "")), *parents.split(" > ")]
