"""The token memory in decoding (tiny random Llama): built from the workspace with the
generator's own model, it makes the model write what the repository wrote, and only the
requests that ask for it."""

from __future__ import annotations

from pathlib import Path

import pytest
from git_repo import GitRepo

from mochi.rag.memory import memory_text
from mochi.server.config import MemoryConfig
from mochi.server.generation import CancelToken, GenerationRequest
from mochi.server.generation.transformers_backend import TransformersGenerator
from mochi.server.memory.workspace_memory import build_memory

CALC = """def quokka_total(values):
    running = 0
    for value in values:
        running += value * 3
    return running
"""


@pytest.fixture
def generator(tiny_model_dir: Path) -> TransformersGenerator:
    return TransformersGenerator(str(tiny_model_dir), dtype="float32", prefix_cache_size=0)


def _line(generator: TransformersGenerator, prompt: str, memory: bool) -> str:
    request = GenerationRequest(  # as the server asks at the start of a line
        prompt=prompt,
        max_tokens=24,
        stop=("\n",),
        skip_leading_newlines=True,
        heal=True,
        memory=memory,
    )
    return generator.generate(request, CancelToken()).text


def test_the_memory_makes_the_model_write_the_repositorys_next_line(
    generator: TransformersGenerator, git_repo: GitRepo, tmp_path: Path
) -> None:
    git_repo.write("calc.py", CALC)
    git_repo.commit("calc")
    mix, report = build_memory(
        generator, git_repo.root, tmp_path / "memory", MemoryConfig(weight=1.0, neighbours=1)
    )
    assert report.encoded == 1 and report.tokens > 20 and mix.size == report.tokens
    generator.use_memory(mix)
    head = CALC[: CALC.index("        running +=")]
    prompt = memory_text("calc.py", head, "python")
    assert _line(generator, prompt, memory=True) == "        running += value * 3"
    assert _line(generator, prompt, memory=False) != "        running += value * 3"
    assert generator.health().extra["memory_tokens"] == str(report.tokens)
    # a second build reads nothing again, and the memory answers the same
    again, second = build_memory(
        generator, git_repo.root, tmp_path / "memory", MemoryConfig(weight=1.0, neighbours=1)
    )
    assert second.encoded == 0 and again.size == mix.size


def test_with_a_small_weight_the_model_keeps_its_own_choice(
    generator: TransformersGenerator, git_repo: GitRepo, tmp_path: Path
) -> None:
    git_repo.write("calc.py", CALC)
    git_repo.commit("calc")
    mix, _ = build_memory(generator, git_repo.root, tmp_path / "m", MemoryConfig(weight=0.0))
    generator.use_memory(mix)
    prompt = memory_text("calc.py", CALC[: CALC.index("    for")], "python")
    assert _line(generator, prompt, memory=True) == _line(generator, prompt, memory=False)
