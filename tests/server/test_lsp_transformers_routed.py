"""Learned routing on the transformers + peft back end, through a real LSP client
(`mochi serve`, a tiny random Llama on transformers, two random peft adapters): with
`routing.mode = "learned"` and an expert set whose two experts carry the centroids of two
folders (embedded by the real MiniLM the index uses), a completion in a file of each folder
is served by that folder's expert, which `mochi.timings` and `mochi.explainCompletion`
report; the routed text is the pinned expert's and not the other expert's. With
`top_k = 2` the two experts are served together at the router's weights (a peft weighted
merge), which the explanation lists."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from expert_sets import CURSORS, EXPERT, completion_by, domain_expert_set, domain_repo
from lsp_fixtures import ready_status

from mochi.server.lsp_client import MochiClient

pytest.importorskip("peft")

pytestmark = [pytest.mark.slow]


def options(
    data: Path, model: Path, experts: Path, top_k: int, temperature: float = 0.05
) -> dict[str, Any]:
    return {
        "dataDir": str(data),
        "model": {"backend": "transformers", "name": str(model), "dtype": "float32"},
        "completion": {"maxTokens": 8, "multiline": True},
        "routing": {
            "mode": "learned",
            "expertSet": str(experts),
            "threshold": 0.6,
            "topK": top_k,
            "temperature": temperature,
        },
    }


async def routed_session(root: Path, data: Path, model: Path, experts: Path) -> None:
    client = MochiClient()
    await client.start(root, options(data, model, experts, top_k=1))
    try:
        assert client.messages == []  # no "routing falls back to the rules"
        status = await ready_status(lambda: client.command("mochi.status"))
        assert (status["backend"], status["modelHealth"]) == ("transformers", "ready")
        assert set(status["adapters"]) == {"alpha", "beta"}  # loaded from the expert set
        for domain, (rel, text) in CURSORS.items():
            expert = EXPERT[domain]
            uri = client.open(root / rel, text)
            routed = await completion_by(client, uri, text, None)
            timing = (await client.command("mochi.timings"))[-1]
            assert (timing["adapter"], timing["expert"]) == (expert, expert)
            why: dict[str, Any] = await client.command("mochi.explainCompletion", uri)
            assert (why["path"], why["expert"], why["adapter"]) == (rel, expert, expert)
            assert why["reason"] == "centroid" and why["confidence"] >= 0.6
            assert why["weights"] == [{"expert": expert, "weight": 1.0}]
            other = next(name for name in EXPERT.values() if name != expert)
            assert routed == await completion_by(client, uri, text, expert)
            assert routed != await completion_by(client, uri, text, other), (domain, routed)
    finally:
        await client.stop()


async def weighted_session(root: Path, data: Path, model: Path, experts: Path) -> None:
    client = MochiClient()
    # a soft gate (temperature 1: the cosines' gap gives weights near even), any confidence
    settings = options(data, model, experts, top_k=2, temperature=1.0)
    settings["routing"]["threshold"] = 0.0
    await client.start(root, settings)
    try:
        await ready_status(lambda: client.command("mochi.status"))
        rel, text = CURSORS["queries"]
        uri = client.open(root / rel, text)
        mixed = await completion_by(client, uri, text, None)
        why: dict[str, Any] = await client.command("mochi.explainCompletion", uri)
        assert why["expert"] == "alpha"
        assert [w["expert"] for w in why["weights"]] == ["alpha", "beta"]
        weights = [w["weight"] for w in why["weights"]]
        assert abs(sum(weights) - 1.0) < 1e-6 and weights[0] > weights[1] > 0
        alone = {name: await completion_by(client, uri, text, name) for name in ("alpha", "beta")}
        assert mixed not in alone.values(), (mixed, alone)  # the merge, not either expert
    finally:
        await client.stop()


def test_learned_routing_on_transformers_serves_each_folder_with_its_expert(
    tmp_path: Path, tiny_model_dir: Path, tiny_adapters: dict[str, Path], minilm: Any
) -> None:
    repo = domain_repo(tmp_path / "ws")
    experts = domain_expert_set(tmp_path / "experts", minilm, tiny_adapters)
    asyncio.run(routed_session(repo.root, tmp_path / "data", tiny_model_dir, experts))
    asyncio.run(weighted_session(repo.root, tmp_path / "data2", tiny_model_dir, experts))
