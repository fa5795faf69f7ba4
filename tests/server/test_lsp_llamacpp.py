"""`mochi serve` on the llama.cpp back end, through a real LSP client (MochiClient over
stdio): a tiny random Llama written as GGUF with two peft LoRA experts; the expert
picked is the adapter llama.cpp applies (two experts, two different suggestions), and the
KV cache of the unchanged prompt prefix is reused from one keystroke to the next."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

pytest.importorskip("llama_cpp")

from git_repo import GitRepo
from lsp_fixtures import ready_status

from mochi.server.lsp_client import MochiClient

pytestmark = [pytest.mark.slow]


async def session(root: Path, data: Path, gguf: Path, adapters: dict[str, Path]) -> None:
    client = MochiClient()
    options = {
        "dataDir": str(data),
        "model": {
            "backend": "llama.cpp",
            "gguf": str(gguf),
            "threads": 1,
            "adapters": {name: str(path) for name, path in adapters.items()},
        },
        "completion": {"maxTokens": 8, "contextTokens": 0},
    }
    await client.start(root, options)
    try:
        status = await ready_status(lambda: client.command("mochi.status"))
        assert status["backend"] == "llama.cpp"
        assert set(status["adapters"]) == {"alpha", "beta"}
        text = "def mean(values):\n    total = sum(values)\n    "
        uri = client.open(root / "stats.py", text)
        answers = {}
        for expert in ("alpha", "beta"):
            assert await client.command("mochi.selectExpert", expert) == expert
            answers[expert] = await client.inline(uri, 2, 4)
            assert (await client.command("mochi.timings"))[-1]["adapter"] == expert
        assert answers["alpha"] != answers["beta"]  # two experts, two different models
        # typing one character: the prompt's prefix is served from the KV cache
        client.insert(uri, 2, 4, "r")
        await client.inline(uri, 2, 5)
        last = (await client.command("mochi.timings"))[-1]
        assert last["cached_tokens"] > 0
        assert last["cached_tokens"] >= last["prompt_tokens"] - 4
    finally:
        await client.stop()


def test_completions_come_from_llama_cpp_with_the_routed_expert(
    tmp_path: Path, tiny_gguf: Path, tiny_adapters: dict[str, Path]
) -> None:
    repo = GitRepo.create(tmp_path / "ws")
    repo.write("stats.py", "def mean(values):\n    total = sum(values)\n    return total\n")
    repo.commit("stats")
    asyncio.run(session(repo.root, tmp_path / "data", tiny_gguf, tiny_adapters))
