"""The secret filter on this project's own tree and history, read and chunked as the
index does: at most 1 % of the chunks may be touched (this project holds no secret)."""

from __future__ import annotations

from pathlib import Path

import pytest
from script_module import load_script

REPO = Path(__file__).parents[2]


@pytest.mark.slow
def test_at_most_one_percent_of_this_projects_chunks_are_touched() -> None:
    bench = load_script("bench_secrets.py")
    measured = bench.measure_false_positives(REPO, commits=100)
    assert measured.chunks > 1000  # the whole tree was read
    assert measured.share <= 0.01, measured.examples
