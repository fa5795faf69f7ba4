"""A new version of the expert set goes into service without a restart, through a real
LSP client (`mochi serve` on llama.cpp, a tiny Llama): the server runs with
`routing.mode = "learned"` and no `expert_set`, so it serves the trainer's `default`
set from the data dir; the set is published the way a `train-experts` job publishes it
(experts/publish.py: `v1/`, `v2/`, the `current` pointer); after v2 replaces the SQL
domain's expert, the next completion there is served by the new expert, and
mochi.status and mochi.explainCompletion name the version — same server process."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("llama_cpp")

from expert_sets import CURSORS, domain_centroids, domain_repo, last_line_end, publish_set

from mochi.rag.routing.expert_set import ExpertCard
from mochi.rag.routing.features import FEATURE_VERSION
from mochi.server.lsp_client import MochiClient

pytestmark = [pytest.mark.slow]

# New files in the SQL folder, cursor at their end: one asked before v2, one after.
BEFORE = CURSORS["queries"]
AFTER = (
    "queries/audit.py",
    'def recent_logins(db):\n    return db.execute(\n        "SELECT user_id, MAX(at) FROM logins'
    ' GROUP BY user_id ORDER BY MAX(at) DESC"\n    ).',
)


def publish(data: Path, experts: dict[str, tuple[str, Path, tuple[float, ...]]]) -> str:
    """The next version of the `default` set: {expert: (its version, adapter, centroid)}."""
    cards = (
        ExpertCard(name, str(adapter), version, ("python",), (), 2, vector)
        for name, (version, adapter, vector) in experts.items()
    )
    published = publish_set(
        data / "expert-sets", cards, commit="head", feature_version=FEATURE_VERSION
    )
    return published.expert_set.version


async def complete(client: MochiClient, root: Path, rel: str, text: str) -> dict[str, Any]:
    uri = client.open(root / rel, text)
    await client.inline(uri, *last_line_end(text))
    why: dict[str, Any] = await client.command("mochi.explainCompletion", uri)
    return why


async def wait_for_version(client: MochiClient, version: str, seconds: float) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        status: dict[str, Any] = await client.command("mochi.status")
        served = status["expertSet"]
        if (served is not None and served["version"] == version) or time.monotonic() > deadline:
            return status
        await asyncio.sleep(0.2)


async def session(
    root: Path, data: Path, gguf: Path, adapters: dict[str, Path], centroids: dict[str, Any]
) -> None:
    sql, css = centroids["queries"], centroids["styles"]
    assert (
        publish(
            data, {"alpha": ("v1", adapters["alpha"], sql), "beta": ("v1", adapters["beta"], css)}
        )
        == "v1"
    )
    client = MochiClient()
    options = {
        "dataDir": str(data),
        "model": {"backend": "llama.cpp", "gguf": str(gguf), "threads": 1},
        "completion": {"maxTokens": 4},
        "routing": {"mode": "learned", "threshold": 0.6, "reloadSeconds": 0.2},
    }
    await client.start(root, options)
    try:
        pid = client.server_pid
        status = await client.command("mochi.status")
        assert status["expertSet"]["name"] == "default" and status["expertSet"]["version"] == "v1"
        assert set(status["adapters"]) == {"alpha", "beta"}
        why = await complete(client, root, *BEFORE)
        assert (why["expert"], why["adapter"], why["expertSet"]) == ("alpha", "alpha", "default v1")

        # A train-experts job retrained the SQL domain: its expert is now `gamma` (v2).
        experts = {"gamma": ("v2", adapters["beta"], sql), "beta": ("v1", adapters["beta"], css)}
        assert publish(data, experts) == "v2"
        status = await wait_for_version(client, "v2", seconds=60)
        assert status["expertSet"]["version"] == "v2", status["expertSet"]
        assert status["expertSet"]["experts"] == {"gamma": "v2", "beta": "v1"}
        assert "gamma" in status["adapters"]
        why = await complete(client, root, *AFTER)
        assert (why["expert"], why["adapter"], why["expertSet"]) == ("gamma", "gamma", "default v2")
        assert why["reason"] == "centroid" and why["confidence"] >= 0.6
        assert client.server_pid == pid  # the same server: no restart
        assert any("expert set default v2 in service" in m for m in client.messages)
    finally:
        await client.stop()


def test_a_published_version_of_the_set_serves_the_next_completion_without_a_restart(
    tmp_path: Path, tiny_gguf: Path, tiny_adapters: dict[str, Path], minilm: Any
) -> None:
    repo = domain_repo(tmp_path / "ws")
    centroids = domain_centroids(minilm)
    asyncio.run(session(repo.root, tmp_path / "data", tiny_gguf, tiny_adapters, centroids))
