"""The token memory on llama.cpp (`backend = "auto"`: the keys made by the transformers
copy of the model, the vote mixed into llama.cpp's logits at each step from the hidden
state llama.cpp outputs for the last token). A tiny random Llama and its float32 GGUF:
with the memory, llama.cpp writes the repository's next line, as transformers does with
the same memory; an adapter's own memory answers that adapter's requests; a request
without the memory, and the prompt's prefill, are untouched by it."""

from __future__ import annotations

from pathlib import Path

import pytest
from git_repo import GitRepo

pytest.importorskip("llama_cpp")

from mochi.rag.memory import memory_text
from mochi.server.config import MemoryConfig, MochiConfig, ModelConfig
from mochi.server.generation import CancelToken, GenerationRequest
from mochi.server.generation.cpu_backend import CpuGenerator
from mochi.server.generation.factory import make_generator
from mochi.server.memory.workspace_memory import build_memory

pytestmark = [pytest.mark.slow]

CALC = """def quokka_total(values):
    running = 0
    for value in values:
        running += value * 3
    return running
"""
OTHER = CALC.replace("running += value * 3", "running -= value // 7")
HEAD = CALC[: CALC.index("        running +=")]


def line(generator: object, memory: bool, adapter: str | None = None, prompt: str = "") -> str:
    request = GenerationRequest(
        prompt=prompt or memory_text("calc.py", HEAD, "python"),
        max_tokens=24,
        stop=("\n",),
        skip_leading_newlines=True,
        heal=True,
        memory=memory,
        adapter=adapter,
    )
    return generator.generate(request, CancelToken()).text  # type: ignore[attr-defined]


def repo(root: Path, text: str) -> GitRepo:
    made = GitRepo.create(root)
    made.write("calc.py", text)
    made.commit("calc")
    return made


def test_llama_cpp_decodes_with_the_token_memory(
    tiny_model_dir: Path, tiny_gguf: Path, tiny_adapters: dict[str, Path], tmp_path: Path
) -> None:
    model = ModelConfig(
        backend="auto",
        name=str(tiny_model_dir),
        gguf=str(tiny_gguf),
        dtype="float32",
        threads=1,
        adapters={"alpha": str(tiny_adapters["alpha"])},
    )
    generator = make_generator(MochiConfig(model=model), tmp_path)
    assert isinstance(generator, CpuGenerator)
    without = line(generator, memory=False)
    config = MemoryConfig(weight=1.0, neighbours=1)
    base, _ = build_memory(generator, repo(tmp_path / "base", CALC).root, tmp_path / "m", config)
    generator.use_memory(base)
    assert generator.memory_size() == base.size > 20
    assert line(generator, memory=True) == "        running += value * 3"
    assert line(generator, memory=False) == without != "        running += value * 3"
    # the same memory on transformers writes the same line
    full = generator.full()
    full.use_memory(base)
    assert line(full, memory=True) == "        running += value * 3"
    # the adapter's own memory (its keys with the adapter on) answers the adapter's requests
    alpha, _ = build_memory(
        generator, repo(tmp_path / "alpha", OTHER).root, tmp_path / "ma", config, adapter="alpha"
    )
    generator.use_memory(alpha, "alpha")
    assert line(generator, memory=True, adapter="alpha") == "        running -= value // 7"
    assert line(generator, memory=True) == "        running += value * 3"
    # a long prompt (several batches) is evaluated without outputs, then decodes the same
    long_prompt = "# " + "filler words here\n# " * 60 + memory_text("calc.py", HEAD, "python")
    assert line(generator, True, prompt=long_prompt) == line(full, True, prompt=long_prompt)
    generator.close()
