"""Learned routing through a real LSP client (`mochi serve` on llama.cpp, a tiny Llama):
with `routing.mode = "learned"` and an expert set whose two experts carry the centroids
of two folders of the repository (embedded by the real MiniLM the index uses), a
completion in a file of each folder is served by that folder's expert, and
mochi.explainCompletion and the hover say so."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("llama_cpp")

from expert_sets import CURSORS, EXPERT, domain_expert_set, domain_repo, last_line_end
from lsp_fixtures import ready_status

from mochi.server.lsp_client import MochiClient

pytestmark = [pytest.mark.slow]


async def session(root: Path, data: Path, gguf: Path, experts: Path) -> None:
    client = MochiClient()
    options = {
        "dataDir": str(data),
        "model": {"backend": "llama.cpp", "gguf": str(gguf), "threads": 1},
        "completion": {"maxTokens": 4},
        "routing": {"mode": "learned", "expertSet": str(experts), "threshold": 0.6},
        "hover": {"explainRoute": True},
    }
    await client.start(root, options)
    try:
        assert client.messages == []  # no "routing falls back to the rules"
        status = await ready_status(lambda: client.command("mochi.status"))
        assert set(status["adapters"]) == {"alpha", "beta"}  # loaded from the expert set
        assert await client.command("mochi.explainCompletion") is None  # none served yet
        for domain, (rel, text) in CURSORS.items():
            uri = client.open(root / rel, text)
            await client.inline(uri, *last_line_end(text))
            timing = (await client.command("mochi.timings"))[-1]
            assert (timing["adapter"], timing["expert"]) == (EXPERT[domain], EXPERT[domain])
            why = await client.command("mochi.explainCompletion")
            assert why["path"] == rel and why["expert"] == EXPERT[domain]
            assert why["adapter"] == EXPERT[domain] and why["reason"] == "centroid"
            assert why["confidence"] >= 0.6
            assert why["weights"] == [{"expert": EXPERT[domain], "weight": 1.0}]
            assert max(why["scores"], key=why["scores"].get) == EXPERT[domain]
            assert why["context"], "the prompt held cross-file context from the index"
            for snippet in why["context"]:
                assert snippet["path"] != rel and snippet["preview"]
                assert snippet["range"]["endLine"] >= snippet["range"]["startLine"] >= 1
            assert (await client.command("mochi.explainCompletion", uri))["path"] == rel
        hover = await client.hover(uri, 0, 2)  # the last document: styles
        assert hover is not None and "Last completion:** expert `beta` (centroid" in hover
    finally:
        await client.stop()


def test_learned_routing_serves_each_folder_with_its_expert(
    tmp_path: Path, tiny_gguf: Path, tiny_adapters: dict[str, Path], minilm: Any
) -> None:
    repo = domain_repo(tmp_path / "ws")
    experts = domain_expert_set(tmp_path / "experts", minilm, tiny_adapters)
    asyncio.run(session(repo.root, tmp_path / "data", gguf=tiny_gguf, experts=experts))
