"""`mochi search` options become the retrieval filters (what they filter is tested in
tests/rag/test_ranking_rules.py)."""

from __future__ import annotations

from mochi.rag.types import SearchFilters
from mochi.server.cli.main import build_parser
from mochi.server.cli.search_cmd import filters_from


def test_search_options_become_filters() -> None:
    options = ["--no-tests", "--exclude", "docs/**", "--exclude", "CHANGELOG.md"]
    options += ["--glob", "src/**", "--source", "code"]
    args = build_parser().parse_args(["search", "where are redirects followed", *options])
    assert filters_from(args) == SearchFilters(
        path_glob="src/**",
        sources=("code",),
        exclude_globs=("docs/**", "CHANGELOG.md"),
        exclude_tests=True,
    )


def test_no_options_filter_nothing() -> None:
    args = build_parser().parse_args(["search", "anything"])
    assert filters_from(args) == SearchFilters()
