"""Line metrics on hand-checked pairs."""

from __future__ import annotations

import pytest

from mochi.trainer.evaluation.metrics import (
    edit_similarity,
    exact_match,
    identifier_match,
    identifiers,
    levenshtein,
    score_line,
)


def test_levenshtein_counts_single_character_edits() -> None:
    assert levenshtein("kitten", "sitting") == 3
    assert levenshtein("", "abc") == 3
    assert levenshtein("abc", "abc") == 0
    assert levenshtein("abc", "acb") == 2


def test_exact_match_ignores_surrounding_whitespace_only() -> None:
    assert exact_match("    return x  ", "return x") == 1.0
    assert exact_match("return  x", "return x") == 0.0


def test_edit_similarity_hand_checked() -> None:
    assert edit_similarity("abc", "abd") == pytest.approx(2 / 3)
    assert edit_similarity("kitten", "sitting") == pytest.approx(1 - 3 / 7)
    assert edit_similarity("  abc", "abc\n") == 1.0
    assert edit_similarity("", "") == 1.0
    assert edit_similarity("abc", "") == 0.0
    assert edit_similarity("   ", "x") == 0.0


def test_identifier_match_compares_identifier_sequences() -> None:
    assert identifiers("x1 = f(a, _b) + 2") == ["x1", "f", "a", "_b"]
    assert identifier_match("x = f(a)", "x=f( a )") == 1.0
    assert identifier_match("x = f(a)", "x = f(b)") == 0.0
    assert identifier_match("f(a, b)", "f(b, a)") == 0.0  # order matters
    assert identifier_match(")", "]") == 1.0  # no identifiers on either side


def test_score_line_bundles_the_three() -> None:
    scores = score_line("size = area(w, h", "size = area(w, h)")
    assert scores.exact_match == 0.0
    assert scores.edit_similarity == pytest.approx(1 - 1 / 17)
    assert scores.identifier_match == 1.0
    assert scores.get("edit_similarity") == scores.edit_similarity
    with pytest.raises(KeyError):
        scores.get("bleu")
