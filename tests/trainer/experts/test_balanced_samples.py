"""The gate's held-out samples are taken in turn from each domain, not in domain order."""

from __future__ import annotations

from mochi.trainer.experts.router_training import balanced_samples


def test_each_domain_gets_its_turn_up_to_the_limit() -> None:
    big = [f"py{i}" for i in range(10)]
    small = ["ts0", "ts1"]
    none: list[str] = []
    taken = balanced_samples([big, small, none], 6)  # type: ignore[list-item]
    assert taken == ["py0", "ts0", "py1", "ts1", "py2", "py3"]
    assert (
        balanced_samples([big, small], 100)
        == [  # type: ignore[list-item]
            "py0",
            "ts0",
            "py1",
            "ts1",
            *big[2:],
        ]
    )
    assert balanced_samples([], 5) == []
    assert balanced_samples([big], 0) == []  # type: ignore[list-item]
