"""The token memory in decoding (tiny random Llama): built from the workspace with the
generator's own model, it makes the model write what the repository wrote, and only the
requests that ask for it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
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


OTHER = CALC.replace("running += value * 3", "running -= value // 7")


def test_an_adapters_memory_holds_its_states_and_answers_its_requests(
    tiny_model_dir: Path, tiny_adapters: dict[str, Path], tmp_path: Path
) -> None:
    generator = TransformersGenerator(
        str(tiny_model_dir),
        dtype="float32",
        prefix_cache_size=0,
        adapters={"alpha": str(tiny_adapters["alpha"])},
    )
    base_repo = GitRepo.create(tmp_path / "base")
    alpha_repo = GitRepo.create(tmp_path / "alpha")
    for repo, text in ((base_repo, CALC), (alpha_repo, OTHER)):
        repo.write("calc.py", text)
        repo.commit("calc")
    config = MemoryConfig(weight=1.0, neighbours=1)
    base, _ = build_memory(generator, base_repo.root, tmp_path / "m-base", config)
    alpha, _ = build_memory(
        generator, alpha_repo.root, tmp_path / "m-alpha", config, adapter="alpha"
    )
    generator.use_memory(base)
    generator.use_memory(alpha, "alpha")
    assert generator.current_memory("alpha") is alpha and generator.current_memory() is base
    # the keys are the states with the adapter on: another identity, other numbers
    plain, own = generator.token_encoder(), generator.token_encoder(adapter="alpha")
    assert plain.identity != own.identity
    assert not np.allclose(plain.encode(CALC)[0], own.encode(CALC)[0], atol=1e-3)
    head = CALC[: CALC.index("        running +=")]
    prompt = memory_text("calc.py", head, "python")

    def line(adapter: str | None) -> str:
        request = GenerationRequest(
            prompt=prompt,
            max_tokens=24,
            stop=("\n",),
            skip_leading_newlines=True,
            heal=True,
            memory=True,
            adapter=adapter,
        )
        return generator.generate(request, CancelToken()).text

    assert line(None) == "        running += value * 3"  # the base model's memory
    assert line("alpha") == "        running -= value // 7"  # the adapter's own memory
    generator.use_memory(None, "alpha")  # without it, the adapter queries the base's
    assert generator.current_memory("alpha") is None
    assert line("alpha") != "        running -= value // 7"
